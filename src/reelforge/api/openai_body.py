"""Reading ``POST /v1/videos``: JSON, or multipart as the openai SDK sends it (always, even
for text-only requests), with a file in ``input_reference`` or a URL in
``input_reference[image_url]``. Both end as one validated ``VideoCreateRequest``.

Large bodies are parsed in the thread pool (``INLINE_BODY_BYTES``). The multipart parser itself
runs on the event loop as the body arrives, a chunk at a time; Starlette spools an upload over
1 MB to a temporary file through the thread pool."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from typing import Any

from fastapi import Request
from fastapi.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from reelforge.api.errors import ApiError
from reelforge.api.json_body import INLINE_BODY_BYTES, json_object, validated
from reelforge.api.limits import MAX_BODY_BYTES
from reelforge.api.schemas.openai import VideoCreateRequest
from reelforge.domain.limits import MAX_IMAGE_BYTES, describe_size

_FORM_FIELDS = ("prompt", "model", "seconds", "size", "webhook_url")
_REFERENCE_FIELDS = {
    "input_reference[image_url]": "image_url",
    "input_reference[file_id]": "file_id",
}


@dataclass(frozen=True, slots=True)
class CreateBody:
    fields: VideoCreateRequest
    first_frame: str | bytes | None
    """The uploaded file's bytes, or ``input_reference.image_url``, or None."""
    canonical: bytes
    """The parsed request plus a digest of the upload: the same for every retry of a request."""


def _first_frame(fields: VideoCreateRequest, upload: bytes | None) -> str | bytes | None:
    if upload is not None:
        return upload
    reference = fields.input_reference
    if reference is None:
        return None
    if reference.file_id is not None:
        raise ApiError(
            400,
            "input_reference.file_id is not supported by this server; upload the image as "
            "input_reference or pass input_reference.image_url",
            param="input_reference",
            code="unsupported_value",
        )
    return reference.image_url


async def read_create_body(request: Request) -> CreateBody:
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type == "application/json":
        data = await request.body()
        if len(data) <= INLINE_BODY_BYTES:
            return _create_body(json_object(data), None)
        return await run_in_threadpool(lambda: _create_body(json_object(data), None))
    if content_type == "multipart/form-data":
        raw, upload = await _form_fields(request)
        if upload is None or len(upload) <= INLINE_BODY_BYTES:
            return _create_body(raw, upload)
        return await run_in_threadpool(_create_body, raw, upload)
    raise ApiError(
        415,
        f"Content-Type {content_type or '(none)'!r} is not accepted; send application/json "
        "or multipart/form-data",
    )


def _create_body(raw: Any, upload: bytes | None) -> CreateBody:
    fields = validated(VideoCreateRequest, raw)
    digest = hashlib.sha256(upload).hexdigest().encode() if upload is not None else b"-"
    canonical = fields.model_dump_json().encode() + b"\n" + digest
    return CreateBody(fields, _first_frame(fields, upload), canonical)


async def _form_fields(request: Request) -> tuple[dict[str, Any], bytes | None]:
    try:
        form = await request.form(max_files=1, max_fields=16, max_part_size=MAX_BODY_BYTES)
    except Exception as exc:  # the multipart parser raises several types for malformed bodies
        raise ApiError(400, f"the multipart body could not be parsed: {exc}") from None
    raw: dict[str, Any] = {}
    reference: dict[str, Any] = {}
    upload: bytes | None = None
    for name, value in form.multi_items():
        if name == "input_reference":
            upload = await _read_upload(value)
        elif name in _REFERENCE_FIELDS:
            reference[_REFERENCE_FIELDS[name]] = value
        elif name == "seed":
            raw[name] = _form_integer(value)
        elif name in _FORM_FIELDS:
            raw[name] = value
    if reference:
        raw["input_reference"] = reference
    return raw, upload


_FORM_INTEGER = re.compile(r"[0-9]{1,20}(\.0+)?")


def _form_integer(value: UploadFile | str) -> UploadFile | str | int:
    """A form field is text: digits (with an optional ``.0``, as clients write a JSON integer
    held in a float) become the number the schema declares; anything else is left for
    validation to refuse with its usual message."""
    if isinstance(value, str) and _FORM_INTEGER.fullmatch(value):
        return int(value.split(".")[0])
    return value


async def _read_upload(value: UploadFile | str) -> bytes:
    if isinstance(value, str):
        raise ApiError(
            400,
            "input_reference must be an uploaded file (JPEG, PNG or WebP); pass a URL as "
            "input_reference[image_url]",
            param="input_reference",
            code="invalid_value",
        )
    data = await value.read(MAX_IMAGE_BYTES + 1)
    if len(data) > MAX_IMAGE_BYTES:
        raise ApiError(
            400,
            f"input_reference is larger than {describe_size(MAX_IMAGE_BYTES)}; "
            "send a smaller JPEG, PNG or WebP",
            param="input_reference",
            code="invalid_value",
        )
    return data
