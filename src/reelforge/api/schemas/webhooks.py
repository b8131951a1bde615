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
    examples=[["video.completed", "video.failed"]],
)


class WebhookEndpointCreate(BaseModel):
    """A webhook endpoint to register."""

    model_config = ConfigDict(extra="forbid")

    url: WebhookUrlText = Field(
        description=URL_DESCRIPTION, examples=["https://hooks.example.com/reelforge"]
    )
    name: str | None = Field(
        default=None,
        min_length=1,
        max_length=200,
        description="A label (default: the URL).",
        examples=["render farm notifier"],
    )
    event_types: EventNames | None = EVENT_TYPES_FIELD


class WebhookEndpointUpdate(BaseModel):
    """Only what is given changes; a disabled endpoint (410 Gone) is enabled again."""

    model_config = ConfigDict(extra="forbid")

    url: WebhookUrlText | None = Field(
        default=None, description="A new URL.", examples=["https://hooks.example.com/reelforge"]
    )
    name: str | None = Field(
        default=None,
        min_length=1,
        max_length=200,
        description="A new label.",
        examples=["render farm notifier"],
    )
    event_types: EventNames | None = EVENT_TYPES_FIELD


class RotateSecretRequest(BaseModel):
    """How to replace an endpoint's signing secret."""

    model_config = ConfigDict(extra="forbid")

    # Strict: the schema says boolean, so "yes" or 1 is refused rather than read as true.
    keep_old_secret_active_for_24_hours: StrictBool = Field(
        default=False,
        description="Also sign with the old secret for 24 hours (both signatures are sent), so "
        "receivers can switch without missing deliveries.",
        examples=[True],
    )


class WebhookTestRequest(BaseModel):
    """Which sample event to send."""

    model_config = ConfigDict(extra="forbid")

    event_type: EventName = Field(
        max_length=64, description="The sample event to send.", examples=["video.completed"]
    )


class WebhookEndpoint(BaseModel):
    """A registered webhook endpoint (as the openai SDK's `client.webhooks` parses it)."""

    id: str = Field(
        description="The endpoint's id.", examples=["we_5d41402abc4b2a76b9719d911017c592"]
    )
    object: Literal["webhook_endpoint"] = Field(
        default="webhook_endpoint",
        description="Always `webhook_endpoint`.",
        examples=["webhook_endpoint"],
    )
    created_at: int = Field(
        description="When it was registered (unix seconds).", examples=[1764633600]
    )
    updated_at: int = Field(
        description="When it last changed (unix seconds).", examples=[1764633600]
    )
    name: str = Field(description="Its label.", examples=["render farm notifier"])
    url: str = Field(
        description="Where deliveries are POSTed.", examples=["https://hooks.example.com/reelforge"]
    )
    event_types: list[str] = Field(
        description="The events it receives.", examples=[["video.completed", "video.failed"]]
    )
    signing_secret_hint: str = Field(
        description="The first and last characters of the signing secret, to tell secrets "
        "apart without showing them.",
        examples=["whsec_Ab3...x9Z"],
    )
    # ReelForge extensions (the openai SDK ignores fields it does not know):
    disabled_at: int | None = Field(
        default=None,
        description="When deliveries stopped because the receiver answered 410 Gone (unix "
        "seconds); null while enabled. Any update of the endpoint enables it again.",
        examples=[None],
    )
    disabled_reason: str | None = Field(
        default=None,
        description="Why the endpoint is disabled; null while enabled.",
        examples=["the receiver answered 410 Gone"],
    )


class WebhookEndpointWithSecret(WebhookEndpoint):
    """A webhook endpoint with its signing secret, shown only on create and rotation."""

    signing_secret: str = Field(
        description="`whsec_...`: shown only when the endpoint is created or its secret rotated.",
        examples=["whsec_Ab3dE5fG7hJ9kL1mN3pQ5rS7tU9vW1x9Z"],
    )


class WebhookEndpointList(BaseModel):
    """One page of webhook endpoints."""

    object: Literal["list"] = Field(default="list", description="Always `list`.", examples=["list"])
    data: list[WebhookEndpoint] = Field(description="The endpoints of this page.")
    first_id: str | None = Field(
        description="The first endpoint's id; null on an empty page.",
        examples=["we_5d41402abc4b2a76b9719d911017c592"],
    )
    last_id: str | None = Field(
        description="The last endpoint's id: pass it as `after` for the next page.",
        examples=["we_5d41402abc4b2a76b9719d911017c592"],
    )
    has_more: bool = Field(description="Whether a next page exists.", examples=[False])


class WebhookEndpointDeleted(BaseModel):
    """The answer to a delete."""

    id: str = Field(
        description="The deleted endpoint's id.", examples=["we_5d41402abc4b2a76b9719d911017c592"]
    )
    object: Literal["webhook_endpoint.deleted"] = Field(
        default="webhook_endpoint.deleted",
        description="Always `webhook_endpoint.deleted`.",
        examples=["webhook_endpoint.deleted"],
    )
    deleted: Literal[True] = Field(default=True, description="Always true.", examples=[True])


class WebhookEndpointTestResult(BaseModel):
    """How the endpoint answered a sample delivery."""

    object: Literal["webhook_endpoint.test"] = Field(
        default="webhook_endpoint.test",
        description="Always `webhook_endpoint.test`.",
        examples=["webhook_endpoint.test"],
    )
    webhook_endpoint_id: str = Field(
        description="The endpoint tested.", examples=["we_5d41402abc4b2a76b9719d911017c592"]
    )
    event_type: str = Field(description="The sample event sent.", examples=["video.completed"])
    status_code: int = Field(description="What the endpoint answered.", examples=[200])
    success: Literal[True] = Field(
        default=True,
        description="Always true: a receiver that could not be reached is a 400.",
        examples=[True],
    )


class WebhookSecret(BaseModel):
    """The secret that signs deliveries to a create's own `webhook_url`."""

    object: Literal["webhook_secret"] = Field(
        default="webhook_secret",
        description="Always `webhook_secret`.",
        examples=["webhook_secret"],
    )
    signing_secret: str = Field(
        description="Signs deliveries to the `webhook_url` of your creates (`whsec_...`).",
        examples=["whsec_Ab3dE5fG7hJ9kL1mN3pQ5rS7tU9vW1x9Z"],
    )
