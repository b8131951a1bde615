"""Webhook endpoints on the OpenAI surface: ``/v1/webhook_endpoints``, shaped as the official
``openai`` SDK's ``client.webhooks`` parses them, and ``/v1/webhook_secret``."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool
from pydantic.config import JsonValue

from reelforge.api.schemas.common import WebhookUrlText
from reelforge.domain.events import EventType

_EVENT_NAMES: list[JsonValue] = [event.value for event in EventType]
# The event names and the list's length are declared in the schema only (json_schema_extra):
# the routes' own checks give the errors, which say what is wrong and list the valid values.
EventName = Annotated[str, Field(json_schema_extra={"enum": _EVENT_NAMES})]
EventNames = Annotated[list[EventName], Field(max_length=6, json_schema_extra={"minItems": 1})]
URL_DESCRIPTION = (
    "Where deliveries are POSTed: an https:// (or http://) URL on the public internet, or in "
    "a network the operator allows (`webhook_allow_private`)."
)
EVENT_TYPES_FIELD = Field(
    default=None,
    description="Events to receive: video.completed, video.failed, video.cancelled (the "
    "default), video.queued, video.started, video.progress.",
)


class WebhookEndpointCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    url: WebhookUrlText = Field(description=URL_DESCRIPTION)
    name: str | None = Field(
        default=None, min_length=1, max_length=200, description="A label (default: the URL)."
    )
    event_types: EventNames | None = EVENT_TYPES_FIELD


class WebhookEndpointUpdate(BaseModel):
    """Only what is given changes; a disabled endpoint (410 Gone) is enabled again."""

    model_config = ConfigDict(extra="forbid")

    url: WebhookUrlText | None = Field(default=None, description="A new URL.")
    name: str | None = Field(default=None, min_length=1, max_length=200)
    event_types: EventNames | None = EVENT_TYPES_FIELD


class RotateSecretRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    # Strict: the schema says boolean, so "yes" or 1 is refused rather than read as true.
    keep_old_secret_active_for_24_hours: StrictBool = Field(
        default=False,
        description="Also sign with the old secret for 24 hours (both signatures are sent), so "
        "receivers can switch without missing deliveries.",
    )


class WebhookTestRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    event_type: EventName = Field(max_length=64, description="The sample event to send.")


class WebhookEndpoint(BaseModel):
    id: str
    object: Literal["webhook_endpoint"] = "webhook_endpoint"
    created_at: int
    updated_at: int
    name: str
    url: str
    event_types: list[str]
    signing_secret_hint: str
    # ReelForge extensions (the openai SDK ignores fields it does not know):
    disabled_at: int | None = Field(
        default=None,
        description="When deliveries stopped because the receiver answered 410 Gone (unix "
        "seconds); null while enabled. Any update of the endpoint enables it again.",
    )
    disabled_reason: str | None = Field(
        default=None, description="Why the endpoint is disabled; null while enabled."
    )


class WebhookEndpointWithSecret(WebhookEndpoint):
    signing_secret: str = Field(
        description="`whsec_...`: shown only when the endpoint is created or its secret rotated."
    )


class WebhookEndpointList(BaseModel):
    object: Literal["list"] = "list"
    data: list[WebhookEndpoint]
    first_id: str | None
    last_id: str | None
    has_more: bool


class WebhookEndpointDeleted(BaseModel):
    id: str
    object: Literal["webhook_endpoint.deleted"] = "webhook_endpoint.deleted"
    deleted: Literal[True] = True


class WebhookEndpointTestResult(BaseModel):
    object: Literal["webhook_endpoint.test"] = "webhook_endpoint.test"
    webhook_endpoint_id: str
    event_type: str
    status_code: int = Field(description="What the endpoint answered.")
    success: Literal[True] = True


class WebhookSecret(BaseModel):
    object: Literal["webhook_secret"] = "webhook_secret"
    signing_secret: str = Field(
        description="Signs deliveries to the `webhook_url` of your creates (`whsec_...`)."
    )
