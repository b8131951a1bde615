"""Validators for immutable media: ``ETag``, ``If-None-Match`` (304) and ``If-Range``.

A stored file never changes once its job completed: its blob key names the attempt that wrote
it (``jobs/<job>/<lease token>/video.mp4``). So the key and the size make a strong validator
that every replica computes alike, whichever store holds the file, without reading it.
"""

from __future__ import annotations

import hashlib

from starlette.datastructures import Headers
from starlette.responses import Response

# RFC 9110 section 15.4.5: a 304 carries the headers its 200 would have that a cache needs.
_KEPT_ON_304 = ("cache-control", "content-location", "date", "etag", "expires", "vary")


def media_etag(blob_key: str, size: int) -> str:
    digest = hashlib.sha256(f"{blob_key}\n{size}".encode()).hexdigest()[:32]
    return f'"{digest}"'


def none_match(request: Headers, etag: str) -> bool:
    """True when ``If-None-Match`` names ``etag`` (or is ``*``): the client's copy is current.
    The comparison is weak, as the RFC asks for this header (``W/`` prefixes ignored)."""
    header = request.get("if-none-match")
    if header is None:
        return False
    tags = {tag.strip().removeprefix("W/") for tag in header.split(",")}
    return "*" in tags or etag.removeprefix("W/") in tags


def range_applies(request: Headers, etag: str | None) -> bool:
    """``If-Range`` allows the range only when it names the current entity exactly (a strong
    comparison); a date or another tag asks for the whole file, so a resumed download never
    splices two different files."""
    header = request.get("if-range")
    if header is None:
        return True
    return etag is not None and not etag.startswith("W/") and header.strip() == etag


def not_modified(headers: Headers) -> Response:
    kept = {name: value for name, value in headers.items() if name in _KEPT_ON_304}
    return Response(status_code=304, headers=kept)
