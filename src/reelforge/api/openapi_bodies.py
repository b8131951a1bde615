"""OpenAPI text the routes cannot declare through their signatures: the create body, which the
route reads itself (JSON or multipart), and the bodiless answers of ``HEAD``."""

from __future__ import annotations

from typing import Any

from pydantic.json_schema import models_json_schema

from reelforge.api.schemas.common import IMAGE_SOURCE_PATTERN
from reelforge.api.schemas.openai import ImageReference, VideoCreateRequest
from reelforge.api.schemas.seed import SeedCreateRequest, SeedProCreateRequest
from reelforge.domain.limits import MAX_IMAGE_FIELD_CHARS

_REF = "#/components/schemas/{model}"


def _multipart_schema() -> dict[str, Any]:
    fields = VideoCreateRequest.model_json_schema(ref_template=_REF)
    properties = {
        name: _without_null(fields["properties"][name])
        for name in ("prompt", "model", "seconds", "size", "webhook_url", "seed")
    }
    properties["input_reference"] = {
        "type": "string",
        "format": "binary",
        "description": "First frame: a JPEG, PNG or WebP file (at most 10 MB, exact `size`).",
    }
    properties["input_reference[image_url]"] = {
        "type": "string",
        "maxLength": MAX_IMAGE_FIELD_CHARS,
        "pattern": IMAGE_SOURCE_PATTERN,
        "description": "First frame by http(s) URL or data URL (instead of a file).",
        "examples": ["https://example.com/frames/harbour-1280x720.png"],
    }
    return {"type": "object", "required": ["prompt"], "properties": properties}


def _without_null(schema: dict[str, Any]) -> dict[str, Any]:
    """A form field is text or absent, never null: ``anyOf [X, null]`` becomes X (with the
    keywords beside ``anyOf``). Else a client following the schema would send ``null`` as the
    text "null", which is not a URL."""
    branches = schema.get("anyOf")
    if not isinstance(branches, list) or {"type": "null"} not in branches:
        return schema
    rest = [branch for branch in branches if branch != {"type": "null"}]
    outer = {key: value for key, value in schema.items() if key not in ("anyOf", "default")}
    inner = rest[0] if len(rest) == 1 else {"anyOf": rest}
    return {**inner, **outer}


CREATE_VIDEO_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {"schema": {"$ref": _REF.format(model="VideoCreateRequest")}},
            "multipart/form-data": {"schema": _multipart_schema()},
        },
    }
}


def json_body(model: str) -> dict[str, Any]:
    """``openapi_extra`` for a route that reads its JSON body itself (``json_body.py``)."""
    return {
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": {"$ref": _REF.format(model=model)}}},
        }
    }


def headers_only(responses: dict[int | str, Any]) -> dict[int | str, Any]:
    """``responses`` as a ``HEAD`` route answers them: an error keeps its status and
    description but declares no body (the server drops a HEAD answer's body); media types of
    files stay, as the ``Content-Type`` a ``GET`` would send."""
    bodiless: dict[int | str, Any] = {}
    for status, entry in responses.items():
        if "model" in entry:
            entry = {"description": f"{entry['description']} (status and headers only)"}
        bodiless[status] = entry
    return bodiless


def validation_is_400(openapi: dict[str, Any]) -> dict[str, Any]:
    """Both surfaces answer invalid parameters with 400 in their own error shape, never with
    FastAPI's 422 (which our create routes use for a reused Idempotency-Key)."""
    for path, operations in openapi.get("paths", {}).items():
        model = "OpenAIError" if path.startswith("/v1/") else "GatewayError"
        for operation in operations.values():
            responses = operation.get("responses", {})
            if responses.get("422", {}).get("description") != "Validation Error":
                continue
            del responses["422"]
            responses.setdefault(
                "400",
                {
                    "description": "Invalid parameters",
                    "content": {"application/json": {"schema": {"$ref": _REF.format(model=model)}}},
                },
            )
    schemas = openapi.get("components", {}).get("schemas", {})
    for unused in ("HTTPValidationError", "ValidationError"):
        schemas.pop(unused, None)
    return openapi


def add_body_schemas(openapi: dict[str, Any]) -> dict[str, Any]:
    """Register the create bodies' models, which no route parameter names."""
    models = (VideoCreateRequest, ImageReference, SeedCreateRequest, SeedProCreateRequest)
    _, defs = models_json_schema([(model, "validation") for model in models], ref_template=_REF)
    schemas = openapi.setdefault("components", {}).setdefault("schemas", {})
    for name, schema in defs.get("$defs", {}).items():
        schemas.setdefault(name, schema)
    return openapi
