"""Attachment intake: files checked by content, refused with a clear reason, read to text.

Every file here is built in the test: a real PDF written by hand (and by pypdf for encryption),
a real .docx assembled with zipfile."""

from __future__ import annotations

import io
import zipfile

import pytest
from pypdf import PdfReader, PdfWriter

from features.consultant import attachments
from features.consultant.attachments import (
    ALLOWED,
    MAX_BYTES,
    Attachment,
    AttachmentError,
    read_attachment,
    sanitise_filename,
)
from features.consultant.filenames import stored_name

# --- builders ----------------------------------------------------------------------------------


def pdf_string(line: str) -> str:
    return line.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")


def make_pdf(*pages: str) -> bytes:
    """A minimal valid PDF: one page per string, each line drawn with Helvetica."""
    objects: list[bytes] = []
    kids = " ".join(f"{4 + 2 * i} 0 R" for i in range(len(pages)))
    objects.append(b"<< /Type /Catalog /Pages 2 0 R >>")
    objects.append(f"<< /Type /Pages /Kids [{kids}] /Count {len(pages)} >>".encode())
    objects.append(b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>")
    for i, text in enumerate(pages):
        lines = "".join(f"({pdf_string(line)}) Tj 0 -16 Td " for line in text.split("\n"))
        stream = f"BT /F1 12 Tf 72 720 Td {lines}ET".encode()
        objects.append(
            f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] "
            f"/Resources << /Font << /F1 3 0 R >> >> /Contents {5 + 2 * i} 0 R >>".encode()
        )
        objects.append(b"<< /Length %d >>\nstream\n%s\nendstream" % (len(stream), stream))
    out = io.BytesIO()
    out.write(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, 1):
        offsets.append(out.tell())
        out.write(b"%d 0 obj\n%s\nendobj\n" % (number, body))
    xref = out.tell()
    out.write(b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1))
    for offset in offsets:
        out.write(b"%010d 00000 n \n" % offset)
    out.write(
        b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    )
    return out.getvalue()


def encrypted_pdf(user_password: str, owner_password: str = "owner") -> bytes:
    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(make_pdf("Secret op note"))))
    writer.encrypt(user_password=user_password, owner_password=owner_password, algorithm="RC4-128")
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def blank_pdf() -> bytes:
    writer = PdfWriter()
    writer.add_blank_page(width=612, height=792)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


DOCX_TYPE = "application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"
DOCM_TYPE = "application/vnd.ms-word.document.macroEnabled.main+xml"
W = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"

CONTENT_TYPES = """<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">
<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>
<Default Extension="xml" ContentType="application/xml"/>
<Override PartName="/word/document.xml" ContentType="{main}"/>
</Types>"""

RELS = """<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">
<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="word/document.xml"/>
</Relationships>"""

BODY = """
<w:p><w:r><w:t>OPERATIVE REPORT</w:t></w:r></w:p>
<w:p><w:r><w:t xml:space="preserve">Procedure: </w:t></w:r><w:r><w:rPr><w:b/></w:rPr><w:t>Laparoscopic cholecystectomy</w:t></w:r></w:p>
<w:p><w:r><w:t>CPT</w:t><w:tab/><w:t>47562</w:t><w:br/><w:t>ICD K80.20</w:t></w:r></w:p>
<w:p><w:r><w:delText>deleted words</w:delText></w:r></w:p>
<w:tbl><w:tr><w:tc><w:p><w:r><w:t>EBL</w:t></w:r></w:p></w:tc><w:tc><w:p><w:r><w:t>10 mL</w:t></w:r></w:p></w:tc></w:tr></w:tbl>
"""


def document_xml(body: str = BODY, prologue: str = "") -> str:
    return (
        f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>{prologue}'
        f'<w:document xmlns:w="{W}"><w:body>{body}</w:body></w:document>'
    )


def make_docx(
    *,
    main: str = DOCX_TYPE,
    document: str | None = None,
    extra: dict[str, bytes | str] | None = None,
) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", CONTENT_TYPES.format(main=main))
        archive.writestr("_rels/.rels", RELS)
        archive.writestr("word/document.xml", document if document is not None else document_xml())
        for name, data in (extra or {}).items():
            archive.writestr(name, data)
    return out.getvalue()


def make_zip(files: dict[str, str]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    return out.getvalue()


EXE = (
    b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00"
    + b"\x00" * 48
    + b"PE\x00\x00" * 64
)


def refused(filename: str, data: bytes) -> str:
    with pytest.raises(AttachmentError) as caught:
        read_attachment(filename, data)
    return str(caught.value)


# --- text --------------------------------------------------------------------------------------


def test_utf8_text() -> None:
    got = read_attachment("case.txt", "45 yo F, E11.9 — A1c 7.2\r\nPlan: 99214\n".encode())
    assert got == Attachment(
        filename="case.txt",
        kind="txt",
        size=len("45 yo F, E11.9 — A1c 7.2\r\nPlan: 99214\n".encode()),
        text="45 yo F, E11.9 — A1c 7.2\nPlan: 99214",
    )


def test_cp1252_text_is_read() -> None:
    data = "Café visit – naïve pt; “quoted” 500 mg".encode("cp1252")
    with pytest.raises(UnicodeDecodeError):
        data.decode("utf-8")
    assert read_attachment("note.txt", data).text == "Café visit – naïve pt; “quoted” 500 mg"


def test_utf8_bom_and_utf16_text() -> None:
    assert read_attachment("a.txt", "\ufeffHello note".encode()).text == "Hello note"
    assert (
        read_attachment("b.txt", "Notepad note 99213".encode("utf-16")).text == "Notepad note 99213"
    )


def test_binary_named_txt_is_refused() -> None:
    data = bytes(range(256)) * 20
    assert "binary data" in refused("note.txt", data)
    assert "binary data" in refused("note.txt", b"plain start\x00\x01\x02 then nul")


def test_text_with_many_control_characters_is_refused() -> None:
    data = b"".join(bytes([c]) + b"ab" for c in range(1, 9)) * 50
    assert "binary data" in refused("note.txt", data)


def test_whitespace_only_text_is_refused() -> None:
    assert refused("note.txt", b"   \n\n\t ") == "The file has no text in it."


# --- PDF ---------------------------------------------------------------------------------------


def test_pdf_text_is_extracted_page_by_page() -> None:
    data = make_pdf("OPERATIVE REPORT\nProcedure: 47562", "Page two: EBL 10 mL")
    got = read_attachment("op note.pdf", data)
    assert (got.filename, got.kind, got.size) == ("op note.pdf", "pdf", len(data))
    assert "OPERATIVE REPORT" in got.text
    assert "Procedure: 47562" in got.text
    assert got.text.index("47562") < got.text.index("Page two: EBL 10 mL")


def test_pdf_without_a_text_layer_is_refused() -> None:
    assert refused("scan.pdf", blank_pdf()) == (
        "This PDF has no text layer: scanned images cannot be read; paste the text instead."
    )


def test_password_protected_pdf_is_refused() -> None:
    assert "password-protected" in refused("locked.pdf", encrypted_pdf("secret"))


def test_pdf_encrypted_only_against_editing_is_read() -> None:
    assert "Secret op note" in read_attachment("restricted.pdf", encrypted_pdf("")).text


def test_damaged_pdf_is_refused() -> None:
    for data in (b"%PDF-1.7\n" + b"\x00garbage" * 100, b"%PDF-", make_pdf("cut short")[:200]):
        assert refused("broken.pdf", data) == "The PDF could not be read; it may be damaged."


def test_pdf_named_txt_is_refused() -> None:
    message = refused("notes.txt", make_pdf("hello"))
    assert (
        message
        == "The file's name says .txt, but it is a PDF. Rename it to .pdf and send it again."
    )


def test_pdf_must_start_with_its_header() -> None:
    assert "binary data" in refused("late.pdf", b"\x00\x01junk" + make_pdf("x"))


# --- Word --------------------------------------------------------------------------------------


def test_docx_paragraphs_tables_tabs_and_breaks() -> None:
    data = make_docx()
    got = read_attachment("Op Note.docx", data)
    assert (got.kind, got.size) == ("docx", len(data))
    assert got.text == (
        "OPERATIVE REPORT\n"
        "Procedure: Laparoscopic cholecystectomy\n"
        "CPT\t47562\n"
        "ICD K80.20\n"
        "\n"
        "EBL\n"
        "10 mL"
    )
    assert "deleted words" not in got.text


def test_zip_renamed_docx_is_refused() -> None:
    message = refused("case.docx", make_zip({"notes.txt": "hello"}))
    assert "ZIP archive or another kind of Office file" in message


def test_other_office_file_renamed_docx_is_refused() -> None:
    xlsx = make_zip({"[Content_Types].xml": "<Types/>", "xl/workbook.xml": "<workbook/>"})
    assert "ZIP archive or another kind of Office file" in refused("sheet.docx", xlsx)


def test_macro_enabled_document_is_refused() -> None:
    assert "macro-enabled" in refused("m.docx", make_docx(main=DOCM_TYPE))
    sneaky = make_docx(extra={"word/vbaProject.bin": b"\x00macro"})
    assert "macro-enabled" in refused("m.docx", sneaky)


def test_docx_named_pdf_is_refused() -> None:
    message = refused("case.pdf", make_docx())
    assert message == (
        "The file's name says .pdf, but it is a Word document. Rename it to .docx and send it again."
    )


def test_docx_zip_bomb_is_refused() -> None:
    bomb = make_docx(document=document_xml(" " * (25 * 1024 * 1024)))
    assert len(bomb) < MAX_BYTES  # small on the wire, huge unpacked
    assert "unpacks to more than 20 MB" in refused("bomb.docx", bomb)


def test_docx_member_read_is_capped_even_if_sizes_pass(monkeypatch: pytest.MonkeyPatch) -> None:
    # With the archive-wide check out of the way, the read of the part itself still stops.
    monkeypatch.setattr(attachments, "_check_zip", lambda archive: None)
    bomb = make_docx(document=document_xml(" " * (21 * 1024 * 1024)))
    assert "unpacks to more than 20 MB" in refused("bomb.docx", bomb)


def test_docx_with_a_doctype_is_refused() -> None:
    laughs = '<!DOCTYPE w:document [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;">]>'
    data = make_docx(document=document_xml("<w:p><w:r><w:t>&b;</w:t></w:r></w:p>", laughs))
    assert refused("laughs.docx", data) == "The Word document could not be read; it may be damaged."


def test_docx_with_broken_xml_is_refused() -> None:
    data = make_docx(document="<w:document><w:body>")
    assert refused("broken.docx", data) == "The Word document could not be read; it may be damaged."


def test_empty_docx_is_refused() -> None:
    data = make_docx(document=document_xml("<w:p/>"))
    assert refused("empty.docx", data) == "The file has no text in it."


# --- programs, sizes, names --------------------------------------------------------------------


@pytest.mark.parametrize("name", ["setup.docx", "setup.pdf", "setup.txt"])
def test_renamed_program_is_refused(name: str) -> None:
    assert "binary data" in refused(name, EXE)


def test_disallowed_extension_is_refused() -> None:
    expected = (
        "This type of file is not taken. We take text (.txt), PDF (.pdf) and Word (.docx) files."
    )
    assert refused("setup.exe", EXE) == expected
    assert refused("case.doc", b"hello") == expected
    assert refused("README", b"hello") == expected


def test_empty_file_is_refused() -> None:
    assert refused("case.txt", b"") == "The file is empty."


def test_too_big_file_is_refused_with_the_limit() -> None:
    message = refused("big.txt", b"a" * (6 * 1024 * 1024))
    assert message == "The file is 6.0 MB; the limit is 5 MB per file."


def test_exactly_the_limit_is_taken() -> None:
    data = (b"x" * 99 + b"\n") * (MAX_BYTES // 100) + b"y" * (MAX_BYTES % 100)
    assert len(data) == MAX_BYTES
    assert read_attachment("big.txt", data).size == MAX_BYTES


def test_messages_never_carry_the_file_name() -> None:
    name = "John_Smith_DOB_1960_opnote.txt"
    for data in (b"", EXE, make_pdf("x"), b"a" * (MAX_BYTES + 1)):
        assert "John" not in refused(name, data)


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("../../etc/passwd.txt", "passwd.txt"),
        ("C:\\Users\\me\\Op Note (final).docx", "Op Note _final.docx"),
        ("report.PDF", "report.pdf"),
        ("..hidden.txt", "hidden.txt"),
        ("Núñez op note.pdf", "Nunez op note.pdf"),
        ("病例.docx", "attachment.docx"),
        ("a\x00b<script>.txt", "a_b_script.txt"),
        (".txt", "attachment.txt"),
        ("case.TXT ", "case.txt"),
        ("", "attachment"),
    ],
)
def test_filename_sanitising(raw: str, clean: str) -> None:
    assert sanitise_filename(raw) == clean


@pytest.mark.parametrize(
    ("name", "stored"),
    [
        ("John_Smith_opnote.pdf", "opnote.pdf"),
        ("Nunez op note 2024-03-01.docx", "op note.docx"),
        ("Discharge Summary FINAL.pdf", "Discharge Summary FINAL.pdf"),
        ("Roe, Jane.txt", "attachment-3.txt"),
        ("attachment", "attachment-3"),
    ],
)
def test_only_document_words_of_a_file_name_are_kept(name: str, stored: str) -> None:
    assert stored_name(name, 3) == stored


def test_long_filename_is_cut_keeping_the_extension() -> None:
    clean = sanitise_filename("x" * 300 + ".docx")
    assert len(clean) == 120
    assert clean.endswith(".docx")


def test_read_attachment_returns_the_sanitised_name() -> None:
    assert read_attachment("../../etc/passwd.txt", b"root").filename == "passwd.txt"


def test_repr_keeps_the_text_out() -> None:
    got = read_attachment("case.txt", b"Patient: John Smith")
    assert "John" not in repr(got)
    assert "case.txt" in repr(got)


def test_allowed_kinds() -> None:
    assert set(ALLOWED) == {"txt", "pdf", "docx"}
    assert MAX_BYTES == 5 * 1024 * 1024
