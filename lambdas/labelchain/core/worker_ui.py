"""The files a job needs before it starts: the label-category file and the worker UI template.

Both are generated from the execution input, so a job's labels and instructions live in exactly one
place. Templates are Liquid HTML using the crowd element of the task type; Ground Truth fills in
``task.input`` (the object and the labels) when it renders a task for a worker. The instructions pass
through the allow-list sanitiser here too: validation refuses HTML it would change, and this keeps any
other way of building a TaskSpec from placing unchecked HTML in a worker page.
"""

from __future__ import annotations

import html
import json

from labelchain.core.catalog import TaskType, spec_for
from labelchain.core.instructions_html import sanitised
from labelchain.core.job_input import TaskSpec

LABEL_CATEGORY_DOCUMENT_VERSION = "2018-11-28"


def label_category_document(labels: list[str]) -> str:
    """The ``LabelCategoryConfigS3Uri`` file: the label list in Ground Truth's documented format."""
    document = {
        "document-version": LABEL_CATEGORY_DOCUMENT_VERSION,
        "labels": [{"label": label} for label in labels],
    }
    return json.dumps(document, ensure_ascii=False, indent=2)


_ELEMENT_ATTRIBUTES: dict[TaskType, str] = {
    TaskType.BOUNDING_BOX: (
        'name="boundingBox" src="{{ task.input.taskObject | grant_read_access }}" '
        'labels="{{ task.input.labels | to_json | escape }}"'
    ),
    TaskType.IMAGE_CLASSIFICATION: (
        'name="crowd-image-classifier" src="{{ task.input.taskObject | grant_read_access }}" '
        'categories="{{ task.input.labels | to_json | escape }}"'
    ),
    TaskType.TEXT_CLASSIFICATION: (
        'name="crowd-classifier" categories="{{ task.input.labels | to_json | escape }}"'
    ),
    TaskType.SEMANTIC_SEGMENTATION: (
        'name="crowd-semantic-segmentation" src="{{ task.input.taskObject | grant_read_access }}" '
        'labels="{{ task.input.labels | to_json | escape }}"'
    ),
}


def _inert(html_text: str) -> str:
    """Braces as character references: the sanitiser decodes ``&#123;`` to ``{``, and Liquid would then
    evaluate ``{{ … }}`` that validation never saw as markup. Browsers show ``&#123;`` as ``{``."""
    return html_text.replace("{", "&#123;").replace("}", "&#125;")


def worker_ui_template(task: TaskSpec) -> str:
    """A Liquid HTML worker template for the task type, with the input's header and instructions."""
    full, short = (_inert(sanitised(text)) for text in (task.instructions.full, task.instructions.short))
    element = spec_for(task.type).ui_element
    body = (
        "  <classification-target>{{ task.input.taskObject | escape }}</classification-target>\n"
        if task.type is TaskType.TEXT_CLASSIFICATION
        else ""
    )
    return (
        '<script src="https://assets.crowd.aws/crowd-html-elements.js"></script>\n'
        "<crowd-form>\n"
        f'  <{element} {_ELEMENT_ATTRIBUTES[task.type]} header="{html.escape(task.title)}">\n'
        f"{body}"
        f'    <full-instructions header="{html.escape(task.title)}">\n'
        f"      {full}\n"
        "    </full-instructions>\n"
        f"    <short-instructions>{short}</short-instructions>\n"
        f"  </{element}>\n"
        "</crowd-form>\n"
    )
