"""OpenAPI text for the create body, which the route reads itself (JSON or multipart)."""

from __future__ import annotations

from typing import Any

from pydantic.json_schema import models_json_schema

from reelforge.api.schemas.common import IMAGE_SOURCE_PATTERN, MAX_IMAGE_FIELD_CHARS
from reelforge.api.schemas.openai import ImageReference, VideoCreateRequest

_REF = "#/components/schemas/{model}"


def _multipart_schema() -> dict[str, Any]:
    fields = VideoCreateRequest.model_json_schema(ref_template=_REF)
    properties = {name: fields["properties"][name] for name in ("prompt", "model", "seconds",
                                                                "size")}
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
    }
    return {"type": "object", "required": ["prompt"], "properties": properties}


CREATE_VIDEO_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {"schema": {"$ref": _REF.format(model="VideoCreateRequest")}},
            "multipart/form-data": {"schema": _multipart_schema()},
        },
    }
}


def add_body_schemas(openapi: dict[str, Any]) -> dict[str, Any]:
    """Register the create body's models, which no route parameter names."""
    _, defs = models_json_schema(
        [(VideoCreateRequest, "validation"), (ImageReference, "validation")], ref_template=_REF
    )
    schemas = openapi.setdefault("components", {}).setdefault("schemas", {})
    for name, schema in defs.get("$defs", {}).items():
        schemas.setdefault(name, schema)
    return openapi
