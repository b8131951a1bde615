"""Serving stored media: local blobs go through ``FileResponse``, which answers ``Range``
requests (206 with ``Content-Range``, 416 when unsatisfiable, ``Accept-Ranges: bytes``) so
players can seek; other stores stream the whole file."""

from __future__ import annotations

from collections.abc import Iterator

from fastapi.responses import FileResponse, StreamingResponse
from starlette.responses import Response

from reelforge.api.errors import ApiError
from reelforge.storage.base import BlobStore

_CHUNK = 1 << 20


def serve_blob(blobs: BlobStore, key: str, media_type: str, filename: str) -> Response:
    if not blobs.exists(key):
        raise ApiError(
            404,
            "the file is gone: its retention ended or the video was deleted",
            title="File Not Found",
        )
    headers = {"Cache-Control": "private, max-age=3600"}
    path = blobs.local_path(key)
    if path is not None:
        return FileResponse(
            path,
            media_type=media_type,
            filename=filename,
            content_disposition_type="inline",
            headers=headers,
        )
    return StreamingResponse(_chunks(blobs, key), media_type=media_type, headers=headers)


def _chunks(blobs: BlobStore, key: str) -> Iterator[bytes]:
    with blobs.open(key) as handle:
        while chunk := handle.read(_CHUNK):
            yield chunk
