"""Markdown from users and engines becomes safe HTML: no raw HTML, no script links."""

from __future__ import annotations

from portal.markdown import to_html


def test_markdown_formats_lists_emphasis_and_local_links() -> None:
    html = to_html("**E11.9** is billable.\n\n- one\n- two\n\n[page](/codes/icd-10-cm/E11.9)")
    assert "<strong>E11.9</strong>" in html
    assert "<li>one</li>" in html
    assert '<a href="/codes/icd-10-cm/E11.9" rel="noopener noreferrer nofollow">page</a>' in html


def test_raw_html_is_shown_as_text_not_run() -> None:
    html = to_html('<script>alert(1)</script> <img src=x onerror="alert(2)">')
    assert "<script" not in html and "<img" not in html
    assert "&lt;script&gt;" in html


def test_script_and_data_links_are_dropped() -> None:
    html = to_html("[a](javascript:alert(1)) [b](data:text/html,hi) [c](https://cms.gov/x)")
    assert 'href="javascript' not in html and 'href="data:' not in html
    assert 'href="https://cms.gov/x"' in html


def test_a_top_level_heading_becomes_a_section_heading() -> None:
    assert to_html("# Answer").strip() == "<h2>Answer</h2>"
