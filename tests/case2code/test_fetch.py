"""`portal data fetch`: the CMS files downloaded from a local HTTP server that serves the shared
copies at the CMS paths; checksums verified, present files skipped, failures leave nothing."""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from click.testing import CliRunner

from features.case2code.cli import data as data_group
from features.case2code.importing import fetch
from tests.case2code.catalog_db import DATA_DIR

PINNED = [s for s in fetch.SOURCES if s.sha256]


@dataclass
class Server:
    url: str
    requests: list[str] = field(default_factory=list)
    slow: set[str] = field(default_factory=set)  # paths answered after 2 s


@pytest.fixture(scope="module")
def server() -> Iterator[Server]:
    files = {urlsplit(s.url).path: DATA_DIR / s.target for s in PINNED if s.target}
    state = Server("")

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            state.requests.append(self.path)
            if self.path in state.slow:
                time.sleep(2)
            path = files.get(self.path)
            if path is None:
                self.send_error(404)
                return
            body = path.read_bytes()
            self.send_response(200)
            self.send_header("Content-Type", "application/zip")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:  # keep the test output quiet
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    state.url = f"http://127.0.0.1:{httpd.server_address[1]}"
    yield state
    httpd.shutdown()
    httpd.server_close()


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_the_pinned_checksums_are_the_shared_copies() -> None:
    assert {s.name for s in PINNED} == {"hcpcs", "mpfs"}
    for source in PINNED:
        assert source.url.startswith("https://www.cms.gov/files/zip/")
        assert sha(DATA_DIR / source.target) == source.sha256
    assert fetch.rebase(PINNED[0].url, "http://127.0.0.1:9/mirror/") == (
        "http://127.0.0.1:9/mirror/files/zip/january-2026-alpha-numeric-hcpcs-file.zip"
    )
    assert fetch.rebase(PINNED[0].url, None) == PINNED[0].url


def test_download_verify_then_skip_what_is_present(server: Server, tmp_path: Path) -> None:
    said: list[str] = []
    progress: list[tuple[str, int, int | None]] = []
    results = fetch.fetch(
        tmp_path,
        PINNED,
        base_url=server.url,
        say=said.append,
        on_bytes=lambda s, done, total: progress.append((s.name, done, total)),
    )
    assert [r.status for r in results] == ["downloaded", "downloaded"]
    for result in results:
        assert result.path == tmp_path / result.source.target
        assert sha(result.path) == result.sha256 == result.source.sha256
    assert not list(tmp_path.rglob("*.part"))
    assert progress[-1][1] == progress[-1][2] == (tmp_path / "mpfs/RVU25A.zip").stat().st_size
    assert any("verified" in line for line in said)

    before = len(server.requests)
    again = fetch.fetch(tmp_path, PINNED, base_url=server.url, say=said.append)
    assert [r.status for r in again] == ["present", "present"]
    assert len(server.requests) == before  # nothing asked of the server

    # A damaged copy is downloaded again.
    (tmp_path / "mpfs/RVU25A.zip").write_bytes(b"damaged")
    (fixed,) = fetch.fetch(tmp_path, PINNED[1:], base_url=server.url, say=said.append)
    assert fixed.status == "downloaded" and sha(tmp_path / "mpfs/RVU25A.zip") == fixed.sha256


def test_a_checksum_mismatch_deletes_the_download(server: Server, tmp_path: Path) -> None:
    wrong = replace(PINNED[0], sha256="0" * 64)
    (result,) = fetch.fetch(tmp_path, [wrong], base_url=server.url, say=lambda _: None)
    assert result.status == "failed" and not result.ok
    assert "checksum mismatch" in result.message and "0" * 64 in result.message
    assert PINNED[0].sha256 in result.message  # what arrived
    assert not (tmp_path / wrong.target).exists()
    assert not list(tmp_path.rglob("*.part"))


def test_a_404_and_a_timeout_fail_clearly(server: Server, tmp_path: Path) -> None:
    missing = fetch.Source("gone", "https://www.cms.gov/files/zip/gone.zip", "x/gone.zip", None)
    (result,) = fetch.fetch(tmp_path, [missing], base_url=server.url, say=lambda _: None)
    assert result.status == "failed" and "HTTP 404" in result.message
    assert not (tmp_path / "x/gone.zip").exists() and not list(tmp_path.rglob("*.part"))

    server.slow.add(urlsplit(PINNED[0].url).path)
    try:
        (slow,) = fetch.fetch(
            tmp_path, PINNED[:1], base_url=server.url, timeout=0.3, say=lambda _: None
        )
    finally:
        server.slow.clear()
    assert slow.status == "failed" and "timed out" in slow.message
    assert not (tmp_path / PINNED[0].target).exists()


def test_pages_are_manual_steps(server: Server, tmp_path: Path) -> None:
    pages = [s for s in fetch.SOURCES if s.target is None]
    assert {s.name for s in pages} == {"ncci-ptp", "ncci-mue"}
    before = len(server.requests)
    results = fetch.fetch(tmp_path, pages, base_url=server.url, say=lambda _: None)
    assert [r.status for r in results] == ["manual", "manual"]
    assert all("national-correct-coding-initiative" in r.message for r in results)
    assert len(server.requests) == before


def test_the_command(server: Server, tmp_path: Path) -> None:
    runner = CliRunner()
    result = runner.invoke(
        data_group, ["fetch", "hcpcs", "--dest", str(tmp_path), "--base-url", server.url]
    )
    assert result.exit_code == 0, result.output
    target = tmp_path / "hcpcs/january-2026-alpha-numeric-hcpcs-file.zip"
    assert sha(target) == PINNED[0].sha256
    assert "hcpcs: downloaded" in result.output

    # A source the server does not have: the command fails, after the others were tried.
    failed = runner.invoke(
        data_group,
        ["fetch", "icd-10-cm-tables", "hcpcs", "--dest", str(tmp_path), "--base-url", server.url],
    )
    assert failed.exit_code == 1
    assert "icd-10-cm-tables: failed HTTP 404" in failed.output
    assert "hcpcs: present" in failed.output

    unknown = runner.invoke(data_group, ["fetch", "nope", "--dest", str(tmp_path)])
    assert unknown.exit_code == 2 and "unknown source(s) nope" in unknown.output


def test_the_default_folder_is_the_state_folder(server: Server) -> None:
    from portal.settings import get_settings

    result = CliRunner().invoke(data_group, ["fetch", "mpfs", "--base-url", server.url])
    assert result.exit_code == 0, result.output
    target = get_settings().state_dir / "data" / "mpfs" / "RVU25A.zip"
    assert sha(target) == PINNED[1].sha256
