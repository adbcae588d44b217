"""Attachment intake: check an uploaded or mailed file by its content and turn it into text.

Taken: plain text (.txt), PDF with a text layer (.pdf) and Word documents (.docx), up to
MAX_BYTES each. The kind is decided by the bytes, never by the name or a declared MIME type, and
the name's extension must agree with it: a PDF named .txt, or a .zip named .docx, is refused
rather than quietly read, because a mismatch is more often a mistake or a disguise than a
convenience, and the sender can rename the file in a second.

Error messages (AttachmentError) are written for the sender and never include the file's name
or any of its content: a file name can carry a patient's name, and replies are stored. The
module logs nothing, so file content never reaches a log either.
"""

from __future__ import annotations

import io
import logging
import re
import unicodedata
import zipfile
from dataclasses import dataclass
from xml.etree import ElementTree

from pypdf import PdfReader

# pypdf reports what it finds odd in a broken file, and such a report can quote bytes of it: a
# patient's case must not reach the logs that way.
logging.getLogger("pypdf").setLevel(logging.CRITICAL + 1)

ALLOWED: frozenset[str] = frozenset({"txt", "pdf", "docx"})
MAX_BYTES = 5 * 1024 * 1024
# A .docx is a zip: 5 MB can inflate to gigabytes. Nothing honest needs more than this unpacked.
MAX_UNZIPPED_BYTES = 20 * 1024 * 1024
MAX_ZIP_ENTRIES = 2_000
MAX_FILENAME = 120
# Far more than any case; it bounds the work a crafted PDF with thousands of pages can cause.
MAX_PDF_PAGES = 500

_DOCX_MAIN = "application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"
_CT_NS = "{http://schemas.openxmlformats.org/package/2006/content-types}"
_W_NS = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
_KIND_NAMES = {"txt": "a text file", "pdf": "a PDF", "docx": "a Word document"}
_ALLOWED_TEXT = "We take text (.txt), PDF (.pdf) and Word (.docx) files."


class AttachmentError(ValueError):
    """A file we will not take; str(error) is a message for the sender."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class Attachment:
    filename: str  # sanitised: a base name of safe characters, at most MAX_FILENAME long
    kind: str  # "txt" | "pdf" | "docx"
    size: int  # bytes as received
    text: str  # extracted plain text, lines separated by "\n"

    def __repr__(self) -> str:
        # The text is a patient's case: keep it out of tracebacks and debug logs.
        return f"Attachment(filename={self.filename!r}, kind={self.kind!r}, size={self.size})"


def read_attachment(filename: str, data: bytes) -> Attachment:
    """Check the file by content and extract its text, or raise AttachmentError."""
    name = sanitise_filename(filename)
    _check_size(data)
    declared = _extension(name)
    detected = _detect(data)
    if declared != detected:
        raise AttachmentError(_mismatch(declared, detected))
    return Attachment(filename=name, kind=detected, size=len(data), text=_extract(detected, data))


# --- names -----------------------------------------------------------------------------------


def sanitise_filename(filename: str) -> str:
    """The base name only, in safe characters, at most MAX_FILENAME long, extension kept."""
    # Both separators: browsers on Windows may send "C:\\Users\\me\\case.docx".
    base = re.split(r"[\\/]", filename)[-1]
    base = unicodedata.normalize("NFKD", base).encode("ascii", "ignore").decode("ascii")
    base = re.sub(r"[^A-Za-z0-9._ -]+", "_", base)
    base = re.sub(r"_+", "_", re.sub(r"\s+", " ", base))
    stem, dot, ext = base.rpartition(".")
    if not dot:
        stem, ext = base, ""
    ext = ext.strip().lower()[:10]
    room = MAX_FILENAME - (len(ext) + 1 if ext else 0)
    # Leading dots would hide the file on Unix; trailing ones and spaces confuse Windows.
    stem = stem.strip(" ._-")[:room].rstrip(" ._-") or "attachment"
    return f"{stem}.{ext}" if ext else stem


def _extension(name: str) -> str:
    ext = name.rpartition(".")[2] if "." in name else ""
    if ext not in ALLOWED:
        raise AttachmentError(f"This type of file is not taken. {_ALLOWED_TEXT}")
    return ext


def _check_size(data: bytes) -> None:
    if not data:
        raise AttachmentError("The file is empty.")
    if len(data) > MAX_BYTES:
        raise AttachmentError(
            f"The file is {len(data) / 1024 / 1024:.1f} MB; the limit is "
            f"{MAX_BYTES // (1024 * 1024)} MB per file."
        )


# --- what the bytes are ----------------------------------------------------------------------


def _detect(data: bytes) -> str:
    """The kind by content: pdf, docx, zip (any other zip or Office file), txt or binary."""
    if data.startswith(b"%PDF-"):
        return "pdf"
    if data.startswith((b"PK\x03\x04", b"PK\x05\x06")):
        return "docx" if _has_docx_parts(data) else "zip"
    return "txt" if _decode_text(data) is not None else "binary"


def _has_docx_parts(data: bytes) -> bool:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            names = set(archive.namelist())
    except (zipfile.BadZipFile, ValueError):
        return False
    return {"[Content_Types].xml", "word/document.xml"} <= names


def _mismatch(declared: str, detected: str) -> str:
    said = f"The file's name says .{declared}"
    if detected in _KIND_NAMES:
        return (
            f"{said}, but it is {_KIND_NAMES[detected]}. "
            f"Rename it to .{detected} and send it again."
        )
    if detected == "zip":
        return f"{said}, but it is a ZIP archive or another kind of Office file. {_ALLOWED_TEXT}"
    return (
        f"{said}, but it holds binary data (a program, an image or another format). {_ALLOWED_TEXT}"
    )


def _extract(kind: str, data: bytes) -> str:
    readers = {"txt": _txt_text, "pdf": _pdf_text, "docx": _docx_text}
    text = _tidy(readers[kind](data))
    if not text.strip():
        raise AttachmentError("The file has no text in it.")
    return text


def _tidy(text: str) -> str:
    text = _CONTROL.sub("", text.replace("\r\n", "\n").replace("\r", "\n"))
    lines = [line.rstrip() for line in text.split("\n")]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip("\n")


# --- text ------------------------------------------------------------------------------------

# Controls that do not belong in text; tab, newline, carriage return and form feed do.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0e-\x1f\x7f]")


def _decode_text(data: bytes) -> str | None:
    """The text of a plain-text file, or None if it is binary."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        # Windows Notepad's "Unicode": UTF-16 with a byte-order mark, full of NUL bytes.
        text = _try_decode(data, "utf-16")
    elif b"\x00" in data:
        return None
    else:
        text = _try_decode(data, "utf-8-sig")
        if text is None:
            text = _try_decode(data, "cp1252")  # Windows editors' "ANSI"
    if text is None or "\x00" in text:
        return None
    # A stray control character or two happens in pasted text; many mean a binary file.
    return None if len(_CONTROL.findall(text)) > max(2, len(text) // 200) else text


def _try_decode(data: bytes, encoding: str) -> str | None:
    try:
        return data.decode(encoding)
    except UnicodeDecodeError:
        return None


def _txt_text(data: bytes) -> str:
    text = _decode_text(data)
    if text is None:  # _detect already said it is text; kept for a direct call
        raise AttachmentError("The file is not plain text.")
    return text


# --- PDF -------------------------------------------------------------------------------------

_NO_TEXT_LAYER = (
    "This PDF has no text layer: scanned images cannot be read; paste the text instead."
)


def _pdf_text(data: bytes) -> str:
    try:
        reader = PdfReader(io.BytesIO(data), strict=False)
        _unlock(reader)
        if len(reader.pages) > MAX_PDF_PAGES:
            raise AttachmentError(f"The PDF has more than {MAX_PDF_PAGES} pages.")
        pages = [page.extract_text() or "" for page in reader.pages]
    except AttachmentError:
        raise
    except Exception as exc:
        # A crafted or broken PDF can fail anywhere inside the parser, with many exception
        # types; to the sender they all mean the same thing.
        raise AttachmentError("The PDF could not be read; it may be damaged.") from exc
    text = "\n\n".join(page.strip() for page in pages)
    if not text.strip():
        raise AttachmentError(_NO_TEXT_LAYER)
    return text


def _unlock(reader: PdfReader) -> None:
    """Open a PDF that is encrypted only against editing (an empty user password); refuse one
    that needs a password to read."""
    if not reader.is_encrypted:
        return
    try:
        opened = reader.decrypt("")
    except Exception:  # pypdf raises its own types, or needs an optional crypto library
        opened = 0
    if not opened:
        raise AttachmentError(
            "This PDF is password-protected or encrypted, so it cannot be read; "
            "send it without a password or paste the text instead."
        )


# --- Word ------------------------------------------------------------------------------------


def _docx_text(data: bytes) -> str:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            _check_zip(archive)
            content_types = _read_member(archive, "[Content_Types].xml")
            _check_docx_type(content_types, set(archive.namelist()))
            document = _read_member(archive, "word/document.xml")
    except AttachmentError:
        raise
    except (zipfile.BadZipFile, RuntimeError, NotImplementedError, ValueError, OSError) as exc:
        # RuntimeError: an encrypted member; NotImplementedError: an unknown compression
        # method; OSError/ValueError: a damaged archive.
        raise AttachmentError("The Word document could not be read; it may be damaged.") from exc
    return _paragraphs(document)


def _check_zip(archive: zipfile.ZipFile) -> None:
    infos = archive.infolist()
    declared = sum(info.file_size for info in infos)
    if len(infos) > MAX_ZIP_ENTRIES or declared > MAX_UNZIPPED_BYTES:
        raise AttachmentError(_too_big_unpacked())


def _too_big_unpacked() -> str:
    limit = MAX_UNZIPPED_BYTES // (1024 * 1024)
    return f"The Word document unpacks to more than {limit} MB; it cannot be read."


def _read_member(archive: zipfile.ZipFile, name: str) -> bytes:
    """A member's bytes, reading at most the cap: the declared size in a zip can lie."""
    with archive.open(name) as member:
        data = member.read(MAX_UNZIPPED_BYTES + 1)
    if len(data) > MAX_UNZIPPED_BYTES:
        raise AttachmentError(_too_big_unpacked())
    return data


def _check_docx_type(content_types: bytes, names: set[str]) -> None:
    """Only a plain .docx: not a macro-enabled .docm, a template, or other OOXML renamed."""
    root = _parse_xml(content_types)
    main = next(
        (
            el.get("ContentType", "")
            for el in root.iter(f"{_CT_NS}Override")
            if el.get("PartName", "").lower() == "/word/document.xml"
        ),
        "",
    )
    if main != _DOCX_MAIN or any(n.lower().endswith("vbaproject.bin") for n in names):
        raise AttachmentError(
            "This is not a plain Word document (.docx): macro-enabled documents, templates and "
            f"other Office files are not taken. {_ALLOWED_TEXT}"
        )


def _parse_xml(data: bytes) -> ElementTree.Element:
    # OOXML parts never carry a DTD, and entities can only be declared in one: refusing any
    # DOCTYPE rules out entity expansion ("billion laughs") before the parser sees the bytes.
    if b"<!DOCTYPE" in data:
        raise AttachmentError("The Word document could not be read; it may be damaged.")
    try:
        return ElementTree.fromstring(data)  # noqa: S314 - no DTD, checked above
    except ElementTree.ParseError as exc:
        raise AttachmentError("The Word document could not be read; it may be damaged.") from exc


def _paragraphs(document: bytes) -> str:
    """The document's text, one line per paragraph; tables' cells are paragraphs too.

    Only w:t is read: deleted text in tracked changes (w:delText) and field codes are not part
    of the visible document."""
    root = _parse_xml(document)
    return "\n".join(_paragraph_text(p) for p in root.iter(f"{_W_NS}p"))


def _paragraph_text(paragraph: ElementTree.Element) -> str:
    parts: list[str] = []
    # A stack rather than recursion: a crafted document can nest elements thousands deep.
    stack = list(reversed(paragraph))
    while stack:
        el = stack.pop()
        if el.tag == f"{_W_NS}p":
            continue  # a paragraph inside a text box: root.iter() reads it on its own
        if el.tag == f"{_W_NS}t":
            parts.append(el.text or "")
        elif el.tag == f"{_W_NS}tab":
            parts.append("\t")
        elif el.tag in (f"{_W_NS}br", f"{_W_NS}cr"):
            parts.append("\n")
        stack.extend(reversed(el))
    return "".join(parts)
