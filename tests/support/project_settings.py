"""Project settings in a test's table, written the way ``labelchain project-settings put`` writes them
(the store's conditional put, the next version), without validating them: tests of what ResolveTrigger
does with bad stored settings need to store bad ones."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from labelchain.adapters.store import JobStore
from labelchain.core.project_settings import ProjectSettingsRecord, settings_record

EXAMPLE_SETTINGS_PATH = Path(__file__).resolve().parents[2] / "examples" / "project.json"


def example_settings(**changes: Any) -> dict[str, Any]:
    """examples/project.json with top-level changes (a value of None removes the field)."""
    document = {**json.loads(EXAMPLE_SETTINGS_PATH.read_text()), **changes}
    return {key: value for key, value in document.items() if value is not None}


def write_project_settings(
    store: JobStore,
    project: str,
    document: str | bytes | dict[str, Any] | None = None,
    *,
    by: str = "arn:aws:iam::123456789012:user/operator",
) -> ProjectSettingsRecord:
    """Store ``document`` (default: examples/project.json) as the project's next settings version."""
    if document is None:
        document = EXAMPLE_SETTINGS_PATH.read_text()
    text = (
        json.dumps(document)
        if isinstance(document, dict)
        else document.decode()
        if isinstance(document, bytes)
        else document
    )
    current = store.project_settings(project)
    record = settings_record(
        project,
        text,
        previous_version=0 if current is None else current.version,
        updated_by=by,
        at=datetime.now(UTC),
    )
    assert store.put_project_settings(record), f"settings of {project!r} changed while writing them"
    return record
