"""Worker instructions are HTML from the input: an allow-list sanitiser decides what may reach workers.

The sanitiser is nh3 (the Python bindings of Ammonia, an allow-list HTML sanitiser built on a real
HTML5 parser). LabelChain *refuses* instructions the sanitiser would change rather than silently
cleaning them (docs/INPUT.md, ``task.instructions``): what workers read is then exactly what the
requester wrote, and a removed ``<script>`` or ``onclick`` is reported instead of quietly vanishing.
The worker template builder still runs the sanitiser (``sanitised``), so no code path can place
unchecked HTML in a worker page.

nh3 is imported lazily: only the create path (validation, the worker template) needs it, and the
other handlers' cold starts should not pay for it.
"""

from __future__ import annotations

from html.parser import HTMLParser
from typing import Any

ALLOWED_TAGS: frozenset[str] = frozenset(
    {
        "p", "br", "hr", "div", "span", "b", "strong", "i", "em", "u", "s", "sub", "sup", "small",
        "mark", "code", "pre", "kbd", "blockquote", "h1", "h2", "h3", "h4", "h5", "h6",
        "ul", "ol", "li", "dl", "dt", "dd",
        "table", "caption", "thead", "tbody", "tfoot", "tr", "th", "td",
        "a", "img", "figure", "figcaption",
    }
)  # fmt: skip
"""Text structure, lists, tables, links and images: what instructions need. No script, style, form,
input, button, iframe, object, embed, svg, math, base, meta or link."""

ALLOWED_ATTRIBUTES: dict[str, frozenset[str]] = {
    "a": frozenset({"href", "title"}),
    "img": frozenset({"src", "alt", "width", "height"}),
    "ol": frozenset({"start"}),
    "td": frozenset({"colspan", "rowspan"}),
    "th": frozenset({"colspan", "rowspan", "scope"}),
}
"""No event handlers (``on*``), no ``style`` (``url()`` can fetch), no ``class``/``id``."""

URL_ATTRIBUTES = frozenset({"href", "src"})
URL_PREFIX = "https://"
"""Links and images must be absolute https URLs: no ``javascript:``, ``data:``, ``http:`` or relative
URLs (which would resolve against the worker portal)."""

IMPLIED_TAGS = frozenset({"tbody"})
"""Tags an HTML5 parser inserts on its own (``<table><tr>`` gains a ``<tbody>``): not a change."""
VOID_TAGS = frozenset({"br", "hr", "img", "wbr", "area", "base", "col", "embed", "input", "link", "meta"})


def _url_filter(_tag: str, attribute: str, value: str) -> str | None:
    if attribute in URL_ATTRIBUTES and not value.strip().lower().startswith(URL_PREFIX):
        return None
    return value


def sanitised(html: str) -> str:
    """``html`` with everything outside the allow-list removed and the markup balanced."""
    import nh3  # noqa: PLC0415 - lazy: only the create path pays for it

    return nh3.clean(
        html,
        tags=set(ALLOWED_TAGS),
        clean_content_tags={"script", "style"},
        attributes={tag: set(names) for tag, names in ALLOWED_ATTRIBUTES.items()},
        attribute_filter=_url_filter,
        strip_comments=True,
        link_rel=None,
        url_schemes={"https"},
    )


class _Tokens(HTMLParser):
    """A canonical token stream (tags, sorted attributes, unescaped text) to compare two documents."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tokens: list[tuple[Any, ...]] = []
        self.problems: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in IMPLIED_TAGS or attrs:
            self.tokens.append(("start", tag, tuple(sorted((k, v or "") for k, v in attrs))))
        if tag not in ALLOWED_TAGS:
            self.problems.append(f"<{tag}>")
            return
        allowed = ALLOWED_ATTRIBUTES.get(tag, frozenset())
        for name, value in attrs:
            if name not in allowed:
                self.problems.append(f"the {name} attribute of <{tag}>")
            elif name in URL_ATTRIBUTES and _url_filter(tag, name, value or "") is None:
                self.problems.append(f"the {name} of <{tag}> (only https:// URLs)")

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)
        if tag not in VOID_TAGS:
            self.handle_endtag(tag)

    def handle_endtag(self, tag: str) -> None:
        if tag not in VOID_TAGS and tag not in IMPLIED_TAGS:
            self.tokens.append(("end", tag))
        if tag not in ALLOWED_TAGS and f"<{tag}>" not in self.problems:
            self.problems.append(f"</{tag}>")

    def handle_data(self, data: str) -> None:
        if self.tokens and self.tokens[-1][0] == "data":
            self.tokens[-1] = ("data", self.tokens[-1][1] + data)
        else:
            self.tokens.append(("data", data))

    def handle_comment(self, data: str) -> None:
        self.tokens.append(("comment", data))
        self.problems.append("an HTML comment")

    def handle_decl(self, decl: str) -> None:
        self.tokens.append(("decl", decl))
        self.problems.append(f"<!{decl}>")

    def handle_pi(self, data: str) -> None:
        self.tokens.append(("pi", data))
        self.problems.append(f"<?{data}>")

    def unknown_decl(self, data: str) -> None:
        self.tokens.append(("decl", data))
        self.problems.append(f"<![{data}]>")


def _tokens(html: str) -> _Tokens:
    parser = _Tokens()
    parser.feed(html)
    parser.close()
    return parser


def instruction_html_problems(html: str) -> list[str]:
    """What the sanitiser would remove or repair in ``html``; empty when it would keep it as written."""
    original = _tokens(html)
    if original.tokens == _tokens(sanitised(html)).tokens:
        return []
    problems = list(dict.fromkeys(original.problems))
    return problems or ["unbalanced or misnested tags (close every tag you open, in order)"]


def refuse_unsafe_html(html: str) -> str:
    """``html`` unchanged if the sanitiser keeps it; else ValueError naming what it would remove."""
    problems = instruction_html_problems(html)
    if problems:
        shown = ", ".join(problems[:5]) + (f" and {len(problems) - 5} more" if len(problems) > 5 else "")
        raise ValueError(
            f"HTML the sanitiser would change, found: {shown}. Allowed: text markup, lists, tables, "
            "headings, <a href> and <img src> with https:// URLs; no scripts, event handlers, styles, "
            "forms, iframes or comments, and every tag closed in order"
        )
    return html
