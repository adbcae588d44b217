"""Files of CareerCenter (employer logos, resumes), kept in the database after a content check.

Who may read a file is decided by the caller (a resume: the applicant and the job's employer);
this module only stores and fetches by id.
"""

from __future__ import annotations

from dataclasses import dataclass

from features.careers.tables import StoredFile
from portal import runtime
from portal.uploads import Upload, UploadError, check

RESUME_KINDS = {"pdf", "docx"}
LOGO_KINDS = {"png", "jpeg", "webp"}
LOGO_MAX_BYTES = 2 * 1024 * 1024
CONTENT_TYPES = {
    "pdf": "application/pdf",
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "png": "image/png",
    "jpeg": "image/jpeg",
    "webp": "image/webp",
}

__all__ = ["StoredView", "UploadError", "delete_owned_by", "get", "store_logo", "store_resume"]


@dataclass(frozen=True)
class StoredView:
    id: int
    owner_id: int
    kind: str
    filename: str
    size: int
    data: bytes

    @property
    def content_type(self) -> str:
        return CONTENT_TYPES[self.kind]


async def _store(owner_id: int, upload: Upload) -> int:
    row = StoredFile(
        owner_id=owner_id,
        kind=upload.kind,
        filename=upload.filename,
        size=upload.size,
        data=upload.data,
    )
    await row.save()
    return int(row.id)


async def store_resume(owner_id: int, filename: str, data: bytes) -> int:
    """A resume (PDF or DOCX, checked by content); UploadError says why one is refused."""
    limit = runtime.current().settings.careers.max_upload_bytes
    return await _store(owner_id, check(filename, data, RESUME_KINDS, limit))


async def store_logo(owner_id: int, filename: str, data: bytes) -> int:
    return await _store(owner_id, check(filename, data, LOGO_KINDS, LOGO_MAX_BYTES))


async def get(file_id: int) -> StoredView | None:
    row = await StoredFile.select().where(StoredFile.id == file_id).first()
    if row is None:
        return None
    return StoredView(
        row["id"], row["owner_id"], row["kind"], row["filename"], row["size"], bytes(row["data"])
    )


async def delete_owned_by(owner_id: int) -> None:
    await StoredFile.delete().where(StoredFile.owner_id == owner_id)
