"""The one Jinja environment: pages (through Litestar) and mail render with it."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from jinja2 import ChoiceLoader, Environment, FileSystemLoader, PrefixLoader, select_autoescape

from portal.markdown import to_html
from portal.settings import REPO_ROOT

CORE_TEMPLATES = Path(__file__).parent / "templates"
COMPONENTS = REPO_ROOT / "components"


def make_environment(feature_dirs: Iterable[Path], auto_reload: bool = False) -> Environment:
    loader = ChoiceLoader(
        [
            FileSystemLoader(str(CORE_TEMPLATES)),
            PrefixLoader({"components": FileSystemLoader(str(COMPONENTS))}),
            *(FileSystemLoader(str(d)) for d in feature_dirs),
        ]
    )
    env = Environment(
        loader=loader,
        autoescape=select_autoescape(["html", "xml"], default_for_string=True),
        trim_blocks=True,
        lstrip_blocks=True,
        enable_async=False,
        auto_reload=auto_reload,  # stat() every template on every render only while developing
    )
    env.filters["markdown"] = to_html  # user and engine Markdown, sanitised
    return env
