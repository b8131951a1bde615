"""Serving stored media.

Local blobs go through ``FileResponse``. Blobs in an object store are either streamed through
the API (``BlobResponse``: one ranged GET per request, read in chunks, never whole in memory)
or, with ``blob_downloads = "redirect"``, answered with a 307 to a short-lived presigned URL so
the bytes flow from the store to the client. Both streamed forms answer ``Range`` requests
the way players need to seek: 206 with ``Content-Range``, 416 when unsatisfiable,
``Accept-Ranges: bytes``.

A completed job's files never change, so they carry a strong ``ETag`` (``conditional.py``)
and ``Cache-Control: private`` for as long as they will exist: a player that seeks or a page
that shows the same thumbnail again revalidates with ``If-None-Match`` and gets a 304, or
uses its copy. ``HEAD`` answers as ``GET`` without the body (a redirect to a URL presigned
for ``HEAD``, since a presigned ``GET`` URL refuses any other method).
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from datetime import datetime
from stat import S_ISREG

from fastapi.responses import FileResponse, RedirectResponse
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import Headers
from starlette.responses import Response, StreamingResponse
from starlette.types import Receive, Scope, Send

from reelforge.api.conditional import media_etag, none_match, not_modified, range_applies
from reelforge.api.errors import ApiError
from reelforge.core.runtime import Runtime
from reelforge.storage.base import BlobStore

log = logging.getLogger(__name__)

_CHUNK = 1 << 20
_RETRY_SECONDS = 5
MAX_CACHE_SECONDS = 24 * 3600
"""The longest a client keeps a file without asking again (it revalidates with its ETag)."""


def serve_blob(
    runtime: Runtime,
    key: str,
    media_type: str,
    filename: str,
    *,
    method: str = "GET",
    max_age: int = MAX_CACHE_SECONDS,
) -> Response:
    """The stored file ``key``; ``method``: the request's (GET or HEAD); ``max_age``: how long
    clients may keep it (``cache_seconds``)."""
    blobs, settings = runtime.blobs, runtime.settings
    path = blobs.local_path(key)
    if path is not None:
        try:
            stat = path.stat()
        except FileNotFoundError:
            raise _gone() from None
        if not S_ISREG(stat.st_mode):
            raise _gone()
        return MediaFileResponse(
            path,
            media_type=media_type,
            filename=filename,
            content_disposition_type="inline",
            headers=_cache_headers(key, stat.st_size, max_age),
            stat_result=stat,
        )
    try:
        size = blobs.size(key)  # our own 404 for a deleted file, not the store's
        if settings.blob_downloads == "redirect":
            url = blobs.presigned_url(
                key, settings.s3_presign_seconds, filename, media_type, method=method
            )
            if url is not None:
                # no-store: the URL expires; a cached redirect would outlive it.
                return RedirectResponse(url, 307, headers={"Cache-Control": "no-store"})
    except FileNotFoundError:
        raise _gone() from None
    except OSError as exc:
        raise _store_unavailable(exc) from None
    headers = _cache_headers(key, size, max_age)
    headers["Content-Disposition"] = f'inline; filename="{filename}"'
    return BlobResponse(blobs, key, size, media_type=media_type, headers=headers)


def cache_seconds(now: datetime, *deadlines: datetime | None) -> int:
    """How long a client may keep a file: until the first of ``deadlines`` (the end of its
    retention, a signed link's expiry), at most ``MAX_CACHE_SECONDS``; never negative."""
    left = [(deadline - now).total_seconds() for deadline in deadlines if deadline is not None]
    return max(0, int(min([MAX_CACHE_SECONDS, *left])))


def _cache_headers(key: str, size: int, max_age: int) -> dict[str, str]:
    return {"Cache-Control": f"private, max-age={max_age}", "ETag": media_etag(key, size)}


class MediaFileResponse(FileResponse):
    """A local file that answers ``If-None-Match`` with 304 (``FileResponse`` itself serves
    ``Range`` and ``If-Range``)."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        etag = self.headers.get("etag")
        if etag is not None and none_match(Headers(scope=scope), etag):
            return await not_modified(self.headers)(scope, receive, send)
        await super().__call__(scope, receive, send)


class BlobResponse(StreamingResponse):
    """A blob of known size streamed from the store; decides on ``Range`` when called, as
    ``FileResponse`` does, so routes need not read the header. Only single ranges are
    honoured: a malformed or multi-range header gets the whole file (RFC 9110 allows it), as
    does an ``If-Range`` that is not the current ``ETag``."""

    def __init__(
        self, blobs: BlobStore, key: str, size: int, media_type: str, headers: dict[str, str]
    ) -> None:
        super().__init__(_nothing(), media_type=media_type, headers=headers)
        self.blobs, self.key, self.size = blobs, key, size
        self.headers["Accept-Ranges"] = "bytes"

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        request_headers = Headers(scope=scope)
        etag = self.headers.get("etag")
        if etag is not None and none_match(request_headers, etag):
            return await not_modified(self.headers)(scope, receive, send)
        wanted = request_headers.get("range") if range_applies(request_headers, etag) else None
        span = parse_range(wanted, self.size)
        if span is None:
            response: Response = Response(
                status_code=416, headers={"Content-Range": f"bytes */{self.size}"}
            )
            return await response(scope, receive, send)
        start, stop = span
        if (start, stop) != (0, self.size):
            self.status_code = 206
            self.headers["Content-Range"] = f"bytes {start}-{stop - 1}/{self.size}"
        self.headers["Content-Length"] = str(stop - start)
        if scope.get("method", "GET").upper() != "HEAD" and stop > start:
            self.body_iterator = self._read(start, stop)
        await super().__call__(scope, receive, send)

    async def _read(self, start: int, stop: int) -> AsyncIterator[bytes]:
        stream = await run_in_threadpool(self.blobs.open_range, self.key, start, stop)
        try:
            while chunk := await run_in_threadpool(stream.read, min(_CHUNK, stop - start)):
                start += len(chunk)
                yield chunk
                if start >= stop:
                    break
        finally:
            await run_in_threadpool(stream.close)


def parse_range(header: str | None, size: int) -> tuple[int, int] | None:
    """The ``[start, stop)`` to send: the whole blob without a usable single range; None when
    the range starts past the end (416)."""
    whole = (0, size)
    if header is None:
        return whole
    unit, _, spec = header.partition("=")
    if unit.strip().lower() != "bytes" or "," in spec:
        return whole
    first, dash, last = spec.strip().partition("-")
    if not dash or not (first.isdigit() or last.isdigit()):
        return whole
    if not first:  # "-N": the last N bytes
        suffix = int(last)
        return (max(size - suffix, 0), size) if suffix > 0 else None
    start = int(first)
    if last and (not last.isdigit() or int(last) < start):
        return whole
    if start >= size:
        return None
    return start, min(int(last) + 1, size) if last else size


async def _nothing() -> AsyncIterator[bytes]:
    return
    yield b""  # makes this an async generator


def _gone() -> ApiError:
    return ApiError(
        404,
        "the file is gone: its retention ended or the video was deleted",
        title="File Not Found",
    )


def _store_unavailable(exc: OSError) -> ApiError:
    log.warning("blob store unavailable: %s", exc)
    return ApiError(
        503,
        f"the media store is unavailable right now; retry in {_RETRY_SECONDS} s",
        code="storage_unavailable",
        title="Service Unavailable",
        headers={"Retry-After": str(_RETRY_SECONDS)},
    )
