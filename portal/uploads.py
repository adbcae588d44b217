"""Uploaded files checked by what they contain, not by their name or declared type.

A renamed program (.exe as .pdf), a zip posing as a Word file or an HTML page posing as an
image is refused with a message for the person who sent it. Features keep what passes.
"""

from __future__ import annotations

import io
import re
import zipfile
from dataclasses import dataclass

KINDS = {
    "pdf": "PDF",
    "docx": "Word document (.docx)",
    "png": "PNG image",
    "jpeg": "JPEG image",
    "webp": "WebP image",
}
EXTENSIONS = {
    "pdf": "pdf",
    "docx": "docx",
    "png": "png",
    "jpg": "jpeg",
    "jpeg": "jpeg",
    "webp": "webp",
}
MAX_UNZIPPED_BYTES = 20 * 1024 * 1024  # a .docx unpacking to more is refused (zip bombs)
_UNSAFE = re.compile(r"[^\w.\- ]+")


class UploadError(ValueError):
    """A file that cannot be taken; str() is the message for the sender."""


@dataclass(frozen=True)
class Upload:
    filename: str  # sanitised: no folders, safe characters
    kind: str  # a key of KINDS
    data: bytes

    @property
    def size(self) -> int:
        return len(self.data)

    def __repr__(self) -> str:  # never the bytes
        return f"Upload({self.filename!r}, {self.kind}, {self.size} bytes)"


def sanitise_filename(name: str, max_chars: int = 120) -> str:
    base = re.split(r"[\\/]", name or "")[-1].strip().lstrip(".")
    base = _UNSAFE.sub("_", base)[:max_chars]
    return base or "file"


def sniff(data: bytes) -> str | None:
    """The kind the bytes are, or None for anything else (programs, archives, text, HTML)."""
    if data.startswith(b"%PDF-"):
        return "pdf"
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if data.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "webp"
    if data.startswith(b"PK\x03\x04") and _is_docx(data):
        return "docx"
    return None


def _is_docx(data: bytes) -> bool:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            names = set(archive.namelist())
            unpacked = sum(i.file_size for i in archive.infolist())
    except (zipfile.BadZipFile, ValueError):
        return False
    return (
        "word/document.xml" in names
        and "[Content_Types].xml" in names
        and not any(n.lower().endswith("vbaproject.bin") for n in names)  # macros
        and unpacked <= MAX_UNZIPPED_BYTES
    )


def check(filename: str, data: bytes, allowed: set[str], max_bytes: int) -> Upload:
    """The file if its content is one of `allowed` and its name says the same kind."""
    what = " or ".join(KINDS[k] for k in sorted(allowed))
    if not data:
        raise UploadError("The file is empty.")
    if len(data) > max_bytes:
        raise UploadError(f"The file is larger than {max_bytes // (1024 * 1024)} MB.")
    kind = sniff(data)
    if kind is None or kind not in allowed:
        raise UploadError(f"The file is not a {what}: only those are accepted.")
    name = sanitise_filename(filename)
    named = EXTENSIONS.get(name.rsplit(".", 1)[-1].lower()) if "." in name else None
    if named != kind:
        raise UploadError(f"The file's name does not match its content ({KINDS[kind]}).")
    return Upload(name, kind, data)
