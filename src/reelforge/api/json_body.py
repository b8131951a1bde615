"""JSON request bodies read by the route itself, so a large one is parsed off the event loop.

FastAPI parses a declared body model on the event loop: for a create carrying a first frame as
a data URL (up to ~14 MB of JSON) that is tens of milliseconds every other request waits out.
Routes that take such bodies read the bytes, and parse and validate them here: inline when
small (a thread hop costs more), in the thread pool when large. Invalid fields raise FastAPI's
``RequestValidationError``, so the usual 400 in the surface's error shape follows.
"""

from __future__ import annotations

import json
from typing import Any, TypeVar

from fastapi import Request
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ValidationError

from reelforge.api.errors import ApiError

INLINE_BODY_BYTES = 64 * 1024
"""Bodies up to this size are parsed on the event loop (a thread hop costs more than they do);
larger ones, an image as a data URL or an upload, are parsed, validated and digested in the
thread pool."""

Model = TypeVar("Model", bound=BaseModel)


async def read_json_model(request: Request, model: type[Model]) -> Model:
    """The body as ``model``: 400 for JSON that is not an object, or invalid fields."""
    data = await request.body()
    if len(data) <= INLINE_BODY_BYTES:
        return validated(model, json_object(data))
    return await run_in_threadpool(lambda: validated(model, json_object(data)))


def validated(model: type[Model], raw: Any) -> Model:
    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        raise RequestValidationError(exc.errors(include_url=False)) from None


def json_object(data: bytes) -> Any:
    try:
        parsed = json.loads(data)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ApiError(400, f"the body is not valid JSON: {exc}", code="invalid_json") from None
    if not isinstance(parsed, dict):
        raise ApiError(400, 'the JSON body must be an object like {"prompt": "..."}')
    return parsed
