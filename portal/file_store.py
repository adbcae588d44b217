"""The embedded mode's key/value store (sessions, meter cache): Litestar's FileStore, read inline.

FileStore reads each value through a worker thread (anyio's async file API: open, read and close
each a hop). The files are a few hundred bytes on local disk, so reading them on the event loop
costs microseconds while the hops cost more than the rest of a session lookup; a signed-in page
view paid for it on every request. Writes stay in the thread (temp file and atomic rename).
"""

from __future__ import annotations

import os

from anyio import Path
from litestar.stores.base import StorageObject
from litestar.stores.file import FileStore


class LocalFileStore(FileStore):
    def with_namespace(self, namespace: str) -> LocalFileStore:
        return LocalFileStore(super().with_namespace(namespace).path)

    @staticmethod
    async def _load_from_path(path: Path) -> StorageObject | None:
        try:
            with open(os.fspath(path), "rb") as handle:  # noqa: ASYNC230 (see module docstring)
                return StorageObject.from_bytes(handle.read())
        except FileNotFoundError:
            return None
