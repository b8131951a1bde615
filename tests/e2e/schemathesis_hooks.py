"""schemathesis hooks for ``test_schemathesis.py`` (loaded by the CLI via ``SCHEMATHESIS_HOOKS``).

Each hook replaces a value the schema calls valid by another value the schema calls valid,
which also meets a rule that no OpenAPI schema can state. Without them the
``positive_data_acceptance`` check reports the server's correct refusals as bugs:

- A URL must reach something: a first frame must be fetched (and be an image of the requested
  size), and a webhook host must resolve to an address webhooks may reach. The fuzzer's URLs
  point nowhere (its ``http://0`` is "this network", refused by the SSRF rules), so valid ones
  are pointed at the test's loopback image server and webhook receiver.
- An uploaded or data-URL first frame must decode as a JPEG, PNG or WebP of exactly ``size``:
  valid ones become a real PNG of that size.
- ``Idempotency-Key`` couples requests: the same key with a different body is refused (422,
  documented). The fuzzer reuses key values across unrelated requests, so each request gets a
  fresh key, as the header's description tells clients.
- ``GET /v1/usage``: ``start_date`` must be on or before ``end_date`` (documented; a
  relation between two parameters, which OpenAPI cannot express), so valid dates are ordered.

Values that are invalid by the schema (negative cases) are never touched, so the
``negative_data_rejection`` check still sees every one of them.
"""

from __future__ import annotations

import base64
import io
import os
import re
import uuid
from datetime import UTC, date, datetime
from functools import cache
from typing import Any

import schemathesis
from PIL import Image
from schemathesis.transport.serialization import Binary

from reelforge.api.schemas.common import IMAGE_SOURCE_PATTERN
from reelforge.domain.limits import ALLOWED_SIZES, MAX_IMAGE_FIELD_CHARS
from reelforge.notify.urls import MAX_WEBHOOK_URL_CHARS, WEBHOOK_URL_PATTERN

IMAGES_ENV = "FUZZ_IMAGE_BASE_URL"
"""Base URL of the loopback image server, serving ``<base><width>x<height>.png``."""
WEBHOOK_ENV = "FUZZ_WEBHOOK_URL"
"""URL of the loopback webhook receiver (its network allowed by ``webhook_allow_private``)."""

_WEBHOOK_URL = re.compile(WEBHOOK_URL_PATTERN)
_IMAGE_SOURCE = re.compile(IMAGE_SOURCE_PATTERN)
_IDEMPOTENCY_KEY = re.compile(r"[\x21-\x7e]{1,255}")
_DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_DEFAULT_SIZES = {
    "/v1/videos": "720x1280",
    "/vendors/openai/v1/sora/generation": "1280x720",
    "/vendors/openai/v1/sora-2-pro/generation": "1280x720",
}
_WEBHOOK_FIELDS = ("webhook_url", "url")


@schemathesis.hook
def map_case(context: Any, case: Any) -> Any:
    return _meet_unwritten_rules(case)


@schemathesis.hook
def before_add_examples(context: Any, examples: list[Any]) -> None:
    """The schema's own examples (the examples phase) bypass ``map_case``: their URLs name
    hosts that resolve nowhere here, so they get the same rewrites."""
    for case in examples:
        _meet_unwritten_rules(case)


def _meet_unwritten_rules(case: Any) -> Any:
    _fresh_idempotency_key(case.headers)
    if case.path == "/v1/usage" and isinstance(case.query, dict):
        _ordered_days(case.query)
    if isinstance(case.body, dict):
        _reachable_urls(case.body)
        _real_first_frames(case.body, _DEFAULT_SIZES.get(case.path))
    return case


def _fresh_idempotency_key(headers: Any) -> None:
    if not headers:
        return
    key = headers.get("Idempotency-Key")
    if isinstance(key, str) and _IDEMPOTENCY_KEY.fullmatch(key):
        suffix = uuid.uuid4().hex
        headers["Idempotency-Key"] = key[: 255 - len(suffix)] + suffix


def _ordered_days(query: dict[str, Any]) -> None:
    first, last = _day(query.get("start_date")), _day(query.get("end_date"))
    if first is None:
        return
    if last is None and "end_date" not in query and first > datetime.now(UTC).date():
        query["end_date"] = query["start_date"]  # the end defaults to today
    elif last is not None and first > last:
        query["start_date"], query["end_date"] = query["end_date"], query["start_date"]


def _day(value: Any) -> date | None:
    if not isinstance(value, str) or _DAY.fullmatch(value) is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        return None


def _reachable_urls(body: dict[str, Any]) -> None:
    for field in _WEBHOOK_FIELDS:
        value = body.get(field)
        valid = isinstance(value, str) and len(value) <= MAX_WEBHOOK_URL_CHARS
        if valid and _WEBHOOK_URL.fullmatch(value):
            body[field] = os.environ[WEBHOOK_ENV]


def _real_first_frames(body: dict[str, Any], default_size: str | None) -> None:
    size = body.get("size", default_size)
    if size not in ALLOWED_SIZES:
        return  # an invalid size is refused before any image is looked at
    if isinstance(body.get("image"), str):  # the seed surface
        body["image"] = _image_source(body["image"], size)
    reference = body.get("input_reference")
    if isinstance(reference, dict) and isinstance(reference.get("image_url"), str):
        reference["image_url"] = _image_source(reference["image_url"], size)
    if isinstance(reference, bytes | Binary):  # a multipart upload: any bytes are valid
        body["input_reference"] = Binary(_png(size))
    multipart_url = body.get("input_reference[image_url]")
    if isinstance(multipart_url, str):
        body["input_reference[image_url]"] = _image_source(multipart_url, size)


def _image_source(value: str, size: str) -> str:
    if len(value) > MAX_IMAGE_FIELD_CHARS or _IMAGE_SOURCE.search(value) is None:
        return value
    if value.startswith("data:"):
        return "data:image/png;base64," + base64.b64encode(_png(size)).decode("ascii")
    return os.environ[IMAGES_ENV] + f"{size}.png"


@cache
def _png(size: str) -> bytes:
    width, height = (int(part) for part in size.split("x"))
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), (40, 90, 200)).save(buffer, "PNG")
    return buffer.getvalue()
