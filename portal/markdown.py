"""Markdown written by users or engines, turned into HTML that is safe to show.

Raw HTML in the source is not passed through (markdown-it's html option is off), and the output
goes through nh3 anyway: a link may only be http(s), mailto or a path on this site.
"""

from __future__ import annotations

import nh3
from markdown_it import MarkdownIt
from markupsafe import Markup

_md = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False}).enable(
    "table"
)

ALLOWED_TAGS = {
    "p", "br", "strong", "em", "code", "pre", "blockquote", "ul", "ol", "li",
    "h2", "h3", "h4", "a", "table", "thead", "tbody", "tr", "th", "td", "hr",
}  # fmt: skip
# Headings in answers sit inside a page that has its own h1: an answer's "#" becomes an h2.
_HEADING_DOWN = {"<h1>": "<h2>", "</h1>": "</h2>"}


def to_html(text: str) -> Markup:
    html = _md.render(text or "")
    for old, new in _HEADING_DOWN.items():
        html = html.replace(old, new)
    clean = nh3.clean(
        html,
        tags=ALLOWED_TAGS,
        attributes={"a": {"href", "title"}, "th": {"align"}, "td": {"align"}},
        url_schemes={"http", "https", "mailto"},
        link_rel="noopener noreferrer nofollow",
    )
    return Markup(clean)  # noqa: S704 (sanitised by nh3 above)
