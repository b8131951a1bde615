"""Dependencies routes declare with ``Annotated`` aliases: context, the caller's key, ids."""

from __future__ import annotations

import hashlib
from typing import Annotated

from fastapi import Depends, Header, Request
from fastapi.security import HTTPAuthorizationCredentials

from reelforge.api.auth import authenticate, bearer_scheme
from reelforge.api.context import ApiContext
from reelforge.services.admission import Admission
from reelforge.store.idempotency import IdempotencyKey
from reelforge.store.keys import ApiKey

# Dependencies are ``async def`` on purpose: FastAPI runs a sync dependency in the thread
# pool, a hop per dependency per request; these never block.


async def get_context(request: Request) -> ApiContext:
    context: ApiContext = request.app.state.context
    return context


ContextDep = Annotated[ApiContext, Depends(get_context)]


async def get_admission(context: ContextDep) -> Admission:
    return context.admission


AdmissionDep = Annotated[Admission, Depends(get_admission)]


async def current_key(
    request: Request,
    context: ContextDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer_scheme)],
) -> ApiKey:
    return await authenticate(context.verifier, request, credentials)


CurrentKey = Annotated[ApiKey, Depends(current_key)]

IdempotencyHeader = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        min_length=1,
        max_length=255,
        pattern=r"^[\x21-\x7e]+$",
        description="Any unique string (a UUID). A retry with the same key and body gets the "
        "first response back instead of a second video; kept 24 h, scoped to your API key.",
        examples=["5f0c6a1e-3b7d-4c2a-9e8f-1a2b3c4d5e6f"],
    ),
]
RetryCountHeader = Annotated[
    str | None,
    Header(
        alias="x-stainless-retry-count",
        max_length=8,
        include_in_schema=False,
    ),
]


def idempotency_scope(
    owner: str, route: str, canonical: bytes, key: str | None, retry_count: str | None
) -> IdempotencyKey | None:
    """The idempotency key for a create, explicit or derived for the openai SDK's retries.

    The SDK retries a POST that timed out or got 408/409/429/5xx *without* an Idempotency-Key
    (it makes one but never sends it), numbering attempts in ``x-stainless-retry-count``. So
    each SDK create records a fingerprint of its route and body; a retry (count >= 1) with the
    same fingerprint replays the first attempt's response instead of queuing a second video,
    while a fresh call (count 0) always creates a new one. ``canonical`` is the parsed request
    (with defaults) plus a digest of any upload: raw bodies differ between attempts (multipart
    boundaries), the parsed request does not.
    """
    sdk_call = retry_count is not None and retry_count.isdigit()
    if key is None and not sdk_call:
        return None
    fingerprint = hashlib.sha256(route.encode() + b"\n" + canonical).hexdigest()
    if key is not None:
        return IdempotencyKey(owner, "key:" + key, fingerprint)
    return IdempotencyKey(owner, "sdk:" + fingerprint, fingerprint, takeover=retry_count == "0")
