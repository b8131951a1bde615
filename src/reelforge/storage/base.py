"""BlobStore: where media files live. Rows are truth; blobs are content written before the row."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO, Protocol


class BlobStore(Protocol):
    """Keys are relative, slash-separated paths laid out by ``reelforge.storage.layout``."""

    def put_file(self, key: str, source: Path) -> None:
        """Store the file at ``source`` under ``key`` atomically (readers never see half)."""

    def put_bytes(self, key: str, data: bytes) -> None:
        """Store ``data`` under ``key`` atomically."""

    def open(self, key: str) -> BinaryIO:
        """Open a stored blob for reading; ``FileNotFoundError`` when absent."""

    def open_range(self, key: str, start: int, stop: int) -> BinaryIO:
        """Bytes ``start`` up to (not including) ``stop``; ``FileNotFoundError`` when absent."""

    def size(self, key: str) -> int:
        """Size in bytes; ``FileNotFoundError`` when absent."""

    def exists(self, key: str) -> bool: ...

    def delete_prefix(self, prefix: str) -> int:
        """Delete every blob under ``prefix/``; returns how many were removed."""

    def list_prefix(self, prefix: str) -> Iterator[str]:
        """Keys under ``prefix/``."""

    def local_path(self, key: str) -> Path | None:
        """A filesystem path for the blob when the store is local (fast serving), else None."""

    def presigned_url(
        self, key: str, expires_seconds: int, filename: str, media_type: str, method: str = "GET"
    ) -> str | None:
        """A URL anyone may GET (or, with ``method="HEAD"``, HEAD) the blob from until it
        expires (served with ``media_type`` and ``filename``), or None when the store has none
        (local files). A presigned URL is valid for its one method."""

    def check_writable(self) -> None:
        """Raise ``ConfigError`` (one line saying what to fix) when the store cannot be written."""

    def remove_job(self, job_id: str) -> None:
        """Delete every file of one job: its inputs and all its attempts' outputs."""
