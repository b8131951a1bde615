"""The first-frame image of a request: from a data: URL, an http(s) URL or uploaded bytes.

Admission calls one of these; each returns the decoded, size-checked, re-encoded frame or raises
``SpecError(field="image")`` saying what to send instead. The rules: a strict
``data:image/(jpeg|png|webp);base64,`` prefix, the length checked before decoding, strict base64,
the size checked after, and the declared type matched against the bytes. Pixel decoding is
``reelforge.media.images.decode_first_frame``'s job; URLs are ``ImageFetcher``'s.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

from reelforge.domain.errors import SpecError
from reelforge.domain.limits import IMAGE_TYPES, MAX_IMAGE_BYTES, describe_size
from reelforge.engines.base import Frame
from reelforge.media.images import decode_first_frame, detect_image_type
from reelforge.net.fetch import ImageFetcher

DATA_URL_PREFIX: Final = re.compile(rf"data:image/({'|'.join(IMAGE_TYPES)});base64,")
_ACCEPTED_FORMS: Final = (
    "send an http(s) URL or data:image/jpeg;base64,..., data:image/png;base64,... or "
    "data:image/webp;base64,..."
)


@dataclass(frozen=True)
class FirstFrame:
    """A vetted first frame: ``rgb`` is ``height x width x 3`` uint8; ``png`` is what we store."""

    rgb: Frame
    png: bytes


FirstFrameResolver = Callable[[str | bytes, int, int], FirstFrame]
"""(data URL, http(s) URL or the image's bytes; width; height) -> the vetted frame, or
``SpecError(field="image")`` saying what to send instead. Admission is given one."""


@dataclass(frozen=True)
class FirstFrameReader:
    """The resolver every entry point uses: bytes are vetted as they are, URLs are fetched
    through ``fetcher`` (the process's one fetcher, with its SSRF rules and size cap)."""

    fetcher: ImageFetcher

    def __call__(self, source: str | bytes, width: int, height: int) -> FirstFrame:
        if isinstance(source, bytes):
            return first_frame_from_bytes(source, width, height, max_bytes=self.fetcher.max_bytes)
        return resolve_first_frame(source, width, height, fetcher=self.fetcher)


def resolve_first_frame(
    source: str, width: int, height: int, *, fetcher: ImageFetcher | None = None
) -> FirstFrame:
    """Turn a request's ``image`` (data: URL or http(s) URL) into a vetted first frame.

    Pass the app's one ``ImageFetcher``; without one a default fetcher (public URLs only) is
    built for this call and closed after it.
    """
    max_bytes = fetcher.max_bytes if fetcher is not None else MAX_IMAGE_BYTES
    if source[:5].lower() == "data:":  # decode_data_url explains a wrongly cased prefix
        return first_frame_from_bytes(decode_data_url(source, max_bytes), width, height)
    if fetcher is not None:
        return first_frame_from_bytes(fetcher.fetch(source), width, height)
    with ImageFetcher(max_bytes=max_bytes) as default_fetcher:
        return first_frame_from_bytes(default_fetcher.fetch(source), width, height)


def first_frame_from_bytes(
    data: bytes, width: int, height: int, *, max_bytes: int = MAX_IMAGE_BYTES
) -> FirstFrame:
    """Vet raw image bytes (a multipart upload, or a fetched or decoded body)."""
    if not data:
        raise _error("image is empty; send a JPEG, PNG or WebP image")
    if len(data) > max_bytes:
        raise _too_large(len(data), max_bytes)
    rgb, png = decode_first_frame(data, width, height)
    return FirstFrame(rgb=rgb, png=png)


def decode_data_url(source: str, max_bytes: int = MAX_IMAGE_BYTES) -> bytes:
    """The bytes of a ``data:image/(jpeg|png|webp);base64,`` URL, checked against its type."""
    match = DATA_URL_PREFIX.match(source)
    if match is None:
        raise _error(
            f"image data URL must start with data:image/(jpeg|png|webp);base64, "
            f"({_hint(source)}); {_ACCEPTED_FORMS}"
        )
    declared = match.group(1)
    payload = source[match.end() :]
    # Four base64 characters carry three bytes: refuse an oversized payload before decoding it.
    if len(payload) > 4 * -(-max_bytes // 3):
        raise _too_large(len(payload) * 3 // 4, max_bytes)
    try:
        data = base64.b64decode(payload, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise _error(
            f"image is not valid base64 ({exc}); encode the file with standard base64 "
            "(A-Z a-z 0-9 + /, '=' padding, no spaces or line breaks)"
        ) from exc
    if not data:
        raise _error("image data URL is empty; put the base64 of the image after the comma")
    if len(data) > max_bytes:
        raise _too_large(len(data), max_bytes)
    _check_declared_type(declared, data)
    return data


def _check_declared_type(declared: str, data: bytes) -> None:
    detected = detect_image_type(data)
    if detected != IMAGE_TYPES[declared]:
        shown = "of an unknown type" if detected == "unknown" else detected
        raise _error(
            f"image declared as image/{declared} but the bytes are {shown}; "
            "declare the file's real type (jpeg, png or webp)"
        )


def _hint(source: str) -> str:
    """Name the usual mistakes in the header, so the fix is obvious."""
    header = source.split(",", 1)[0][:80]
    lowered = header.lower()
    if "image/jpg" in lowered:
        return f"got {header!r}: write image/jpeg, not image/jpg"
    if DATA_URL_PREFIX.fullmatch(lowered + ","):
        return f"got {header!r}: write it in lower case"
    if ";base64" not in lowered:
        return f"got {header!r}: only base64 data URLs are accepted"
    media_type = lowered[len("data:") :].split(";", 1)[0]
    return f"got {header!r}: {media_type or 'an empty type'} is not accepted"


def _too_large(size: int, max_bytes: int) -> SpecError:
    return _error(
        f"image is {describe_size(size)}; the limit is {describe_size(max_bytes)} "
        "(send a smaller JPEG, PNG or WebP)"
    )


def _error(message: str) -> SpecError:
    return SpecError(message, field="image")
