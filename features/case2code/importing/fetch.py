"""Download the official CMS files the importers read, into a data folder.

`SOURCES` is the one place that says where each file comes from (its public CMS address), where
it goes under the data folder (the layout PORTAL_DATA_DIR uses: hcpcs/, mpfs/, icd10cm/) and its
SHA-256. The checksums are those of the copies in ../shared/data (the same files); a file with no
copy at hand is not pinned (sha256 None): it is downloaded and its digest printed.

A download goes to "<target>.part" and is renamed into place only when complete and, where
pinned, with the right checksum; a mismatch, an HTTP error or a timeout deletes the partial file
and the source is reported failed. A file already present with the right checksum is skipped.

The NCCI PTP and MUE files change name every quarter and CMS shows its CPT licence before the
download, so their entries are the CMS pages that list them (target None): reported as manual
steps, never fetched.

`base_url` replaces the scheme and host of every address (a mirror, or a test server serving
the same paths).
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import httpx

CMS = "https://www.cms.gov"
NCCI = f"{CMS}/medicare/coding-billing/national-correct-coding-initiative-ncci-edits"


@dataclass(frozen=True)
class Source:
    name: str  # what `portal data fetch NAME` selects
    url: str  # the official address
    target: str | None  # path under the data folder; None: a page listing files to pick by hand
    sha256: str | None  # expected digest; None when no copy was at hand to pin it
    label: str = ""


SOURCES: tuple[Source, ...] = (
    Source(
        "hcpcs",
        f"{CMS}/files/zip/january-2026-alpha-numeric-hcpcs-file.zip",
        "hcpcs/january-2026-alpha-numeric-hcpcs-file.zip",
        "8f4a26de1eca89205be02fbe48cc899c6c5930cf5d4f6b8c5a227f64450157b0",
        "HCPCS Level II alpha-numeric file, January 2026",
    ),
    Source(
        "mpfs",
        f"{CMS}/files/zip/rvu25a.zip",
        "mpfs/RVU25A.zip",
        "8871f447d1dfce9df46c155c5170f7ad68a580e49c5492a73e56d7978fd159e6",
        "Physician Fee Schedule relative value files, CY2025 release A",
    ),
    Source(
        "icd-10-cm-tables",
        f"{CMS}/files/zip/2026-code-tables-tabular-and-index.zip",
        "icd10cm/2026-code-tables-tabular-and-index.zip",
        None,
        "ICD-10-CM FY2026 code tables: tabular XML and index",
    ),
    Source(
        "icd-10-cm-codes",
        f"{CMS}/files/zip/2026-code-descriptions-tabular-order.zip",
        "icd10cm/2026-code-descriptions-tabular-order.zip",
        None,
        "ICD-10-CM FY2026 code descriptions in tabular order",
    ),
    Source(
        "ncci-ptp",
        f"{NCCI}/medicare-ncci-procedure-procedure-ptp-edits",
        None,
        None,
        "NCCI procedure-to-procedure edits, quarterly files (save them under ncci/)",
    ),
    Source(
        "ncci-mue",
        f"{NCCI}/medicare-ncci-medically-unlikely-edits",
        None,
        None,
        "NCCI medically unlikely edits, quarterly files (save them under ncci/)",
    ),
)

CHUNK = 1 << 16


@dataclass(frozen=True)
class FetchResult:
    source: Source
    status: str  # downloaded | present | manual | failed
    path: Path | None = None
    sha256: str | None = None
    message: str = ""

    @property
    def ok(self) -> bool:
        return self.status != "failed"


class _Failed(Exception):
    """A download to throw away: an HTTP error status or a checksum mismatch."""


Say = Callable[[str], None]
Bytes = Callable[[Source, int, int | None], None]  # source, bytes so far, total (if known)


def rebase(url: str, base_url: str | None) -> str:
    """`url` with the scheme and host (and any path prefix) of `base_url`."""
    if not base_url:
        return url
    base, original = urlsplit(base_url), urlsplit(url)
    path = base.path.rstrip("/") + original.path
    return urlunsplit((base.scheme, base.netloc, path, original.query, ""))


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def select(names: Iterable[str], sources: Sequence[Source] = SOURCES) -> list[Source]:
    names = list(names)
    if not names:
        return list(sources)
    known = {s.name: s for s in sources}
    unknown = [n for n in names if n not in known]
    if unknown:
        raise KeyError(f"unknown source(s) {', '.join(unknown)}; known: {', '.join(known)}")
    return [known[n] for n in names]


def fetch_one(
    source: Source,
    dest: Path,
    client: httpx.Client,
    *,
    base_url: str | None = None,
    say: Say = print,
    on_bytes: Bytes | None = None,
) -> FetchResult:
    url = rebase(source.url, base_url)
    if source.target is None:
        say(f"{source.name}: by hand from {url}")
        return FetchResult(source, "manual", message=f"download by hand from {url}")
    target = dest / source.target
    if target.exists():
        digest = file_sha256(target)
        if source.sha256 is None or digest == source.sha256:
            say(f"{source.name}: {source.target} is already here (sha256 {digest[:12]}…)")
            return FetchResult(source, "present", target, digest)
        say(f"{source.name}: {source.target} has another checksum; downloading it again")
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(target.name + ".part")
    digest_of = hashlib.sha256()
    say(f"{source.name}: downloading {url}")
    try:
        with client.stream("GET", url) as response:
            if response.status_code != 200:
                raise _Failed(f"HTTP {response.status_code} from {url}")
            total = int(response.headers.get("content-length") or 0) or None
            done = 0
            with partial.open("wb") as handle:
                for chunk in response.iter_bytes(CHUNK):
                    handle.write(chunk)
                    digest_of.update(chunk)
                    done += len(chunk)
                    if on_bytes:
                        on_bytes(source, done, total)
        digest = digest_of.hexdigest()
        if source.sha256 is not None and digest != source.sha256:
            raise _Failed(
                f"checksum mismatch for {url}: expected {source.sha256}, got {digest}; "
                "the download was deleted"
            )
    except _Failed as exc:
        partial.unlink(missing_ok=True)
        say(f"{source.name}: FAILED: {exc}")
        return FetchResult(source, "failed", message=str(exc))
    except httpx.HTTPError as exc:
        partial.unlink(missing_ok=True)
        kind = "timed out" if isinstance(exc, httpx.TimeoutException) else "failed"
        message = f"{url} {kind}: {exc.__class__.__name__}: {exc}"
        say(f"{source.name}: FAILED: {message}")
        return FetchResult(source, "failed", message=message)
    except BaseException:
        partial.unlink(missing_ok=True)  # interrupted: never leave half a file behind
        raise
    os.replace(partial, target)
    pinned = "verified" if source.sha256 else "not pinned"
    say(f"{source.name}: saved {source.target} (sha256 {digest}, {pinned})")
    return FetchResult(source, "downloaded", target, digest)


def fetch(
    dest: Path,
    sources: Sequence[Source] = SOURCES,
    *,
    base_url: str | None = None,
    timeout: float = 60.0,
    say: Say = print,
    on_bytes: Bytes | None = None,
) -> list[FetchResult]:
    """Fetch each source into `dest`; one failure does not stop the others."""
    dest.mkdir(parents=True, exist_ok=True)
    headers = {"User-Agent": "coding-portal data fetch"}
    with httpx.Client(
        timeout=httpx.Timeout(timeout), follow_redirects=True, headers=headers
    ) as client:
        return [
            fetch_one(source, dest, client, base_url=base_url, say=say, on_bytes=on_bytes)
            for source in sources
        ]
