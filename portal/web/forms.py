"""Form input: read posted fields as plain strings, and keep redirects on this site."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from litestar import Request

MAX_FIELD_CHARS = 10_000


async def form_fields(request: Request[Any, Any, Any]) -> dict[str, str]:
    """Posted fields, first value each, trimmed to a sane size (the body limit is global)."""
    data = await request.form()
    fields: dict[str, str] = {}
    for key, value in data.multi_items():
        if key not in fields and isinstance(value, str):
            fields[key] = value[:MAX_FIELD_CHARS]
    return fields


def safe_next(target: str | None, default: str = "/") -> str:
    """A local path to go back to; anything pointing off-site becomes `default`."""
    if not target or len(target) > 2000:
        return default
    target = target.strip()
    parts = urlsplit(target)
    if (
        parts.scheme
        or parts.netloc
        or not target.startswith("/")
        or target.startswith(("//", "/\\"))
    ):
        return default
    # Browsers drop tabs and newlines inside a URL ("/\t/evil" is "//evil") and read "\" as "/";
    # other control characters have no place in a Location header either.
    if "\\" in target or any(ord(ch) < 0x20 or ord(ch) == 0x7F for ch in target):
        return default
    return target
