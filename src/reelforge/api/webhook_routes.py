"""``/v1/webhook_endpoints`` (as the openai SDK's ``client.webhooks`` calls it) and
``/v1/webhook_secret``: a key's webhook endpoints, and the secret of its creates' own
``webhook_url``. Everything is scoped to the caller's key: another key's endpoint is a 404."""

from __future__ import annotations

import json
import time
import uuid
from typing import Annotated

from fastapi import APIRouter, Path, Query
from starlette.concurrency import run_in_threadpool

from reelforge.api.deps import ContextDep, CurrentKey
from reelforge.api.errors import ApiError, documented, not_found
from reelforge.api.schemas.openai import OpenAIError
from reelforge.api.schemas.webhooks import (
    RotateSecretRequest,
    WebhookEndpoint,
    WebhookEndpointCreate,
    WebhookEndpointDeleted,
    WebhookEndpointList,
    WebhookEndpointTestResult,
    WebhookEndpointUpdate,
    WebhookEndpointWithSecret,
    WebhookSecret,
    WebhookTestRequest,
)
from reelforge.domain.errors import WebhookNotFound
from reelforge.domain.events import DEFAULT_WEBHOOK_EVENTS, EventType
from reelforge.notify.sender import WebhookSender
from reelforge.notify.signing import secret_hint, signed_headers
from reelforge.store.webhooks import WebhookEndpoint as StoredEndpoint

ENDPOINT_ID_PATTERN = r"^we_[0-9a-f]{32}$"
EndpointId = Annotated[
    str,
    Path(
        max_length=64,
        description="The endpoint's id: `we_` + 32 hex digits.",
        examples=["we_5d41402abc4b2a76b9719d911017c592"],
    ),
]
VALID_EVENTS = ", ".join(event.value for event in EventType)
_SAMPLE_STATUS = {
    "video.started": "running",
    "video.progress": "running",
    "video.completed": "completed",
    "video.failed": "failed",
    "video.cancelled": "cancelled",
}

router = APIRouter(
    prefix="/v1",
    tags=["Webhooks"],
    responses=documented(
        OpenAIError,
        {
            400: "Invalid parameters (a URL that is private or not http(s), an unknown event)",
            401: "Missing or unknown API key",
            404: "No such endpoint for this API key",
        },
    ),
)


@router.post(
    "/webhook_endpoints",
    response_model=WebhookEndpointWithSecret,
    summary="Register a webhook endpoint; its signing secret is shown only now",
)
async def create_endpoint(
    body: WebhookEndpointCreate, key: CurrentKey, context: ContextDep
) -> WebhookEndpointWithSecret:
    """Registers a URL that receives your key's video events (by default video.completed,
    video.failed and video.cancelled) as Standard Webhooks: POSTs signed with the endpoint's
    `signing_secret` (`webhook-id`, `webhook-timestamp`, `webhook-signature`), retried on
    failure for about three days. The URL must be public, or in a network the operator allows.
    Keep the secret: it is shown only in this answer and on rotation."""
    events = _event_types(body.event_types)
    url = await _checked_url(context, body.url)
    endpoint = await run_in_threadpool(
        context.runtime.webhooks.create_endpoint, key.id, url, body.name or url, events
    )
    return _with_secret(endpoint)


@router.get(
    "/webhook_endpoints",
    response_model=WebhookEndpointList,
    summary="List your webhook endpoints, newest first",
)
def list_endpoints(
    key: CurrentKey,
    context: ContextDep,
    limit: Annotated[
        int, Query(ge=1, le=100, description="Endpoints per page (1-100).", examples=[20])
    ] = 20,
    after: Annotated[
        str | None,
        Query(
            max_length=64,
            pattern=ENDPOINT_ID_PATTERN,
            description="An endpoint id: the page starts after it (the previous page's `last_id`).",
            examples=["we_5d41402abc4b2a76b9719d911017c592"],
        ),
    ] = None,
) -> WebhookEndpointList:
    """Your key's webhook endpoints, newest first, with a hint of each secret (never the secret).
    Pass the last id of a page as `after` for the next one while `has_more` is true."""
    try:
        found = context.runtime.webhooks.list_endpoints(key.id, limit=limit + 1, after=after)
    except WebhookNotFound:
        # 404, not 400: the request is well formed, the endpoint it names does not exist.
        raise ApiError(
            404, f"after: no webhook endpoint {after!r}; restart from the first page", param="after"
        ) from None
    page = [_public(endpoint) for endpoint in found[:limit]]
    return WebhookEndpointList(
        data=page,
        first_id=page[0].id if page else None,
        last_id=page[-1].id if page else None,
        has_more=len(found) > limit,
    )


@router.get(
    "/webhook_endpoints/{endpoint_id}",
    response_model=WebhookEndpoint,
    summary="Retrieve a webhook endpoint",
)
def retrieve_endpoint(
    endpoint_id: EndpointId, key: CurrentKey, context: ContextDep
) -> WebhookEndpoint:
    """One of your key's webhook endpoints: its URL, events, and whether deliveries stopped
    (`disabled_at`) because the receiver answered 410 Gone."""
    return _public(_find(context, key.id, endpoint_id))


@router.post(
    "/webhook_endpoints/{endpoint_id}",
    response_model=WebhookEndpoint,
    summary="Change an endpoint's URL, name or events (only what is given); enables a disabled one",
)
async def update_endpoint(
    endpoint_id: EndpointId, body: WebhookEndpointUpdate, key: CurrentKey, context: ContextDep
) -> WebhookEndpoint:
    """Changes only the fields given: a new URL (checked as at create), name or event list. Any
    update enables an endpoint that was disabled by a 410 Gone."""
    events = _event_types(body.event_types) if body.event_types is not None else None
    url = await _checked_url(context, body.url) if body.url is not None else None
    try:
        endpoint = await run_in_threadpool(
            lambda: context.runtime.webhooks.update_endpoint(
                key.id, endpoint_id, url=url, name=body.name, event_types=events
            )
        )
    except WebhookNotFound:
        raise _not_found(endpoint_id) from None
    return _public(endpoint)


@router.delete(
    "/webhook_endpoints/{endpoint_id}",
    response_model=WebhookEndpointDeleted,
    summary="Delete an endpoint; its pending deliveries are failed ('endpoint deleted')",
)
def delete_endpoint(
    endpoint_id: EndpointId, key: CurrentKey, context: ContextDep
) -> WebhookEndpointDeleted:
    """Deletes the endpoint: nothing more is sent to it, and its pending deliveries are marked
    failed with the reason 'endpoint deleted'."""
    try:
        context.runtime.webhooks.delete_endpoint(key.id, endpoint_id)
    except WebhookNotFound:
        raise _not_found(endpoint_id) from None
    return WebhookEndpointDeleted(id=endpoint_id)


@router.post(
    "/webhook_endpoints/{endpoint_id}/rotate_secret",
    response_model=WebhookEndpointWithSecret,
    summary="Replace the signing secret (optionally keeping the old one valid for 24 h)",
)
def rotate_secret(
    endpoint_id: EndpointId,
    key: CurrentKey,
    context: ContextDep,
    body: RotateSecretRequest | None = None,
) -> WebhookEndpointWithSecret:
    """Issues a new signing secret, shown only in this answer. With
    `keep_old_secret_active_for_24_hours`, deliveries carry signatures with both secrets for 24
    hours, so the receiver can switch without refusing any."""
    keep_old = body.keep_old_secret_active_for_24_hours if body is not None else False
    try:
        endpoint = context.runtime.webhooks.rotate_secret(key.id, endpoint_id, keep_old=keep_old)
    except WebhookNotFound:
        raise _not_found(endpoint_id) from None
    return _with_secret(endpoint)


@router.post(
    "/webhook_endpoints/{endpoint_id}/test",
    response_model=WebhookEndpointTestResult,
    summary="Send one signed sample event to the endpoint now and report its answer",
)
async def test_endpoint(
    endpoint_id: EndpointId, body: WebhookTestRequest, key: CurrentKey, context: ContextDep
) -> WebhookEndpointTestResult:
    """Sends one sample event of the given type, signed like a real delivery, to the endpoint now
    and reports the status code it answered. A receiver that cannot be reached is a 400 that
    says why."""
    event_type = _event_types([body.event_type], field="event_type")[0]
    endpoint = await run_in_threadpool(_find, context, key.id, endpoint_id)
    sender = WebhookSender(context.admission.webhook_urls, context.settings.webhook_timeout_seconds)
    payload = _sample_event(event_type)
    event_id = json.loads(payload)["id"]
    headers = signed_headers(event_id, payload, _active_secrets(endpoint))
    result = await run_in_threadpool(sender.send, endpoint.url, headers, payload)
    if result.status_code is None:
        raise ApiError(
            400,
            f"the test delivery to {endpoint.url} failed: {result.error}; check that the "
            "receiver is running and reachable from this server",
            code="webhook_unreachable",
        )
    return WebhookEndpointTestResult(
        webhook_endpoint_id=endpoint.id, event_type=event_type, status_code=result.status_code
    )


@router.get(
    "/webhook_secret",
    response_model=WebhookSecret,
    summary="The secret that signs deliveries to your creates' own `webhook_url`",
)
def webhook_secret(key: CurrentKey, context: ContextDep) -> WebhookSecret:
    """The secret that signs deliveries to the `webhook_url` you give on a create (one per API
    key, `whsec_...`): verify the `webhook-signature` header with it."""
    return WebhookSecret(signing_secret=context.runtime.webhooks.owner_secret(key.id))


# -- helpers -----------------------------------------------------------------------------------


def _event_types(requested: list[str] | None, field: str = "event_types") -> list[str]:
    if requested is None:
        return [event.value for event in DEFAULT_WEBHOOK_EVENTS]
    if not requested:
        raise ApiError(400, f"{field} is empty; list at least one of: {VALID_EVENTS}", param=field)
    valid = {event.value for event in EventType}
    unknown = [name for name in requested if name not in valid]
    if unknown:
        raise ApiError(
            400,
            f"{field}: unknown event type {unknown[0][:64]!r}; valid types: {VALID_EVENTS}",
            param=field,
            code="invalid_value",
        )
    return list(dict.fromkeys(requested))


async def _checked_url(context: ContextDep, url: str) -> str:
    """The URL, if it may receive webhooks (``SpecError(field="url")`` -> 400 otherwise)."""
    return await run_in_threadpool(context.admission.webhook_urls.check, url, "url")


def _find(context: ContextDep, owner: str, endpoint_id: str) -> StoredEndpoint:
    try:
        return context.runtime.webhooks.get_endpoint(owner, endpoint_id)
    except WebhookNotFound:
        raise _not_found(endpoint_id) from None


def _not_found(endpoint_id: str) -> ApiError:
    return not_found(f"webhook endpoint {endpoint_id[:64]!r}")


def _active_secrets(endpoint: StoredEndpoint) -> list[str]:
    keys = [endpoint.secret]
    expires = endpoint.previous_secret_expires_at
    if endpoint.previous_secret and expires is not None and expires.timestamp() > time.time():
        keys.append(endpoint.previous_secret)
    return keys


def _public(endpoint: StoredEndpoint) -> WebhookEndpoint:
    return WebhookEndpoint(
        id=endpoint.id,
        created_at=int(endpoint.created_at.timestamp()),
        updated_at=int(endpoint.updated_at.timestamp()),
        name=endpoint.name,
        url=endpoint.url,
        event_types=list(endpoint.event_types),
        signing_secret_hint=secret_hint(endpoint.secret),
        disabled_at=int(endpoint.disabled_at.timestamp()) if endpoint.disabled_at else None,
        disabled_reason=endpoint.disabled_reason,
    )


def _with_secret(endpoint: StoredEndpoint) -> WebhookEndpointWithSecret:
    return WebhookEndpointWithSecret(
        **_public(endpoint).model_dump(), signing_secret=endpoint.secret
    )


def _sample_event(event_type: str) -> str:
    """A sample event of ``event_type``, shaped like a real one, about no real video."""
    status = _SAMPLE_STATUS.get(event_type, "queued")
    body = {
        "id": "evt_test_" + uuid.uuid4().hex,
        "object": "event",
        "type": event_type,
        "created_at": int(time.time()),
        "data": {"id": "video_" + "0" * 32, "object": "video", "status": status, "test": True},
    }
    return json.dumps(body, separators=(",", ":"))
