"""A BlobStore on a local directory: temp file, fsync, rename, fsync the directory."""

from __future__ import annotations

import io
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path, PurePosixPath
from typing import Any, BinaryIO, cast

from reelforge.domain.errors import ConfigError
from reelforge.storage.layout import job_prefixes


class LocalBlobStore:
    def __init__(self, root: Path) -> None:
        self.root = root

    def check_writable(self) -> None:
        """Fail at start, not at the first job, when the directory cannot be written."""
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            with tempfile.NamedTemporaryFile(dir=self.root, prefix=".probe-"):
                pass
        except OSError as exc:
            raise ConfigError(
                f"media directory {self.root} is not writable ({exc.strerror}); "
                "set REELFORGE_DATA_DIR or REELFORGE_MEDIA_DIR to a writable directory"
            ) from None

    def _path(self, key: str) -> Path:
        parts = PurePosixPath(key).parts
        if not parts or key.startswith("/") or any(p in ("..", ".") for p in parts):
            raise ValueError(f"invalid blob key {key!r}")
        return self.root.joinpath(*parts)

    def put_file(self, key: str, source: Path) -> None:
        with source.open("rb") as src:
            self._write_atomically(key, lambda dst: shutil.copyfileobj(src, dst, 1 << 20))

    def put_bytes(self, key: str, data: bytes) -> None:
        self._write_atomically(key, lambda dst: dst.write(data))

    def _write_atomically(self, key: str, write: object) -> None:
        target = self._path(key)
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as dst:
                write(dst)  # type: ignore[operator]
                dst.flush()
                os.fsync(dst.fileno())
            os.replace(tmp_name, target)
        except BaseException:
            Path(tmp_name).unlink(missing_ok=True)
            raise
        _fsync_dir(target.parent)

    def open(self, key: str) -> BinaryIO:
        return self._path(key).open("rb")

    def open_range(self, key: str, start: int, stop: int) -> BinaryIO:
        handle = self._path(key).open("rb")
        handle.seek(start)
        return cast(BinaryIO, _Window(handle, stop - start))

    def size(self, key: str) -> int:
        return self._path(key).stat().st_size

    def exists(self, key: str) -> bool:
        return self._path(key).is_file()

    def local_path(self, key: str) -> Path | None:
        return self._path(key)

    def presigned_url(
        self, key: str, expires_seconds: int, filename: str, media_type: str, method: str = "GET"
    ) -> str | None:
        return None  # local files are served by the API itself

    def list_prefix(self, prefix: str) -> Iterator[str]:
        base = self._path(prefix)
        if not base.is_dir():
            return
        for path in sorted(base.rglob("*")):
            if path.is_file() and not path.name.startswith("."):
                yield path.relative_to(self.root).as_posix()

    def remove_job(self, job_id: str) -> None:
        for prefix in job_prefixes(job_id):
            self.delete_prefix(prefix)

    def delete_prefix(self, prefix: str) -> int:
        base = self._path(prefix)
        if not base.exists():
            return 0
        count = sum(1 for p in base.rglob("*") if p.is_file())
        shutil.rmtree(base, ignore_errors=True)
        return count


class _Window(io.RawIOBase):
    """At most ``remaining`` bytes of an open file, from where it stands."""

    def __init__(self, handle: BinaryIO, remaining: int) -> None:
        self._handle = handle
        self._remaining = remaining

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        view = memoryview(buffer)[: self._remaining]
        count = self._handle.readinto(view)  # type: ignore[attr-defined]
        self._remaining -= count
        return int(count)

    def close(self) -> None:
        self._handle.close()
        super().close()


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
