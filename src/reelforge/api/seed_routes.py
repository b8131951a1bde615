"""Seed surface: the MuleRun-style ``/vendors/openai/v1/sora/generation`` task API."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel
from starlette.responses import Response

from reelforge.api.content import cache_seconds, serve_blob
from reelforge.api.deps import (
    AdmissionDep,
    ContextDep,
    CurrentKey,
    IdempotencyHeader,
    RetryCountHeader,
    idempotency_scope,
)
from reelforge.api.docs_routes import SEED_TAG
from reelforge.api.errors import ApiError, documented, not_found
from reelforge.api.json_body import read_json_model
from reelforge.api.mapping import job_id_from_task_id, to_task
from reelforge.api.openapi_bodies import headers_only, json_body
from reelforge.api.replies import Render, render_once, stored_response
from reelforge.api.schemas.seed import (
    GatewayError,
    SeedCreateRequest,
    SeedProCreateRequest,
    SeedTaskResponse,
)
from reelforge.domain.errors import JobNotFound
from reelforge.domain.jobs import Job, Status
from reelforge.services.admission import Admission, Admitted, VideoRequest
from reelforge.services.estimates import QueueEstimator
from reelforge.store.idempotency import IdempotencyKey, StoredResponse
from reelforge.store.keys import ApiKey

GENERATION = "/vendors/openai/v1/sora/generation"
PRO_GENERATION = "/vendors/openai/v1/sora-2-pro/generation"
_COMMON = documented(
    GatewayError,
    {
        400: "Invalid parameters, or refused by the content policy",
        401: "Missing, malformed or revoked API key",
        404: "Unknown task (error_code 2005)",
    },
)
_FINISHED = documented(GatewayError, {409: "The task already completed or failed"})
_TOO_LARGE = documented(GatewayError, {413: "Body over 16 MB"})
_IDEMPOTENCY = documented(
    GatewayError,
    {
        409: "Idempotency-Key in use by a request still running",
        422: "Idempotency-Key reused with a different body",
    },
)
_LIMITS = documented(
    GatewayError,
    {
        403: "The key may not use this model (error_code 1003)",
        429: "A limit of the key was reached (error_code 4029): its request rate, queue cap or "
        "a budget; `Retry-After` says when to retry, `x-reelforge-limit` which limit",
    },
)

TaskId = Annotated[
    str,
    Path(
        description="The task's id (a UUID), as create returned it in `task_info.id`.",
        examples=["3f2b9c4e-8d7a-41b6-a5c0-e9f1d2b3a4c5"],
    ),
]

router = APIRouter(tags=[SEED_TAG])


@router.post(
    GENERATION,
    status_code=202,
    response_model=SeedTaskResponse,
    response_model_exclude_none=True,
    responses={**_COMMON, **_IDEMPOTENCY, **_TOO_LARGE, **_LIMITS},
    summary="Create a video generation task",
    openapi_extra=json_body("SeedCreateRequest"),
)
async def create_task(
    request: Request,
    key: CurrentKey,
    admission: AdmissionDep,
    context: ContextDep,
    idempotency_key: IdempotencyHeader = None,
    retry_count: RetryCountHeader = None,
) -> Response:
    """Queues a video from a prompt (and optionally a first frame in `image`) and answers 202 with
    the task, `pending`. Poll `GET .../generation/{task_id}` or stream its events until
    `completed`; the MP4 links are then in `videos`. The prompt and first frame pass the
    content policy first (a refusal is a 400 that says why). Send `Idempotency-Key` to make
    retries safe."""
    body = await read_json_model(request, SeedCreateRequest)
    idempotency = _Idempotency(GENERATION, idempotency_key, retry_count)
    return await _create(admission, context.estimator, key, body, body.model, idempotency)


@router.post(
    PRO_GENERATION,
    status_code=202,
    response_model=SeedTaskResponse,
    response_model_exclude_none=True,
    responses={**_COMMON, **_IDEMPOTENCY, **_TOO_LARGE, **_LIMITS},
    summary="Create a sora-2-pro task (sister endpoint: no model field, 4 s by default)",
    openapi_extra=json_body("SeedProCreateRequest"),
)
async def create_pro_task(
    request: Request,
    key: CurrentKey,
    admission: AdmissionDep,
    context: ContextDep,
    idempotency_key: IdempotencyHeader = None,
    retry_count: RetryCountHeader = None,
) -> Response:
    """The same as the sora endpoint for the `sora-2-pro` model: the body has no `model` field,
    and `seconds` is 4 by default. Tasks from both endpoints are one list: either path reads,
    streams and cancels any of them."""
    body = await read_json_model(request, SeedProCreateRequest)
    idempotency = _Idempotency(PRO_GENERATION, idempotency_key, retry_count)
    return await _create(admission, context.estimator, key, body, "sora-2-pro", idempotency)


@dataclass(frozen=True, slots=True)
class _Idempotency:
    """What scopes a create's Idempotency-Key: the route and the key's headers."""

    route: str
    key: str | None
    retry_count: str | None

    def scope(self, owner: str, body: BaseModel) -> IdempotencyKey | None:
        # The canonical body may hold a 14 MB data URL: built in the thread pool, not the loop.
        canonical = body.model_dump_json().encode()
        return idempotency_scope(owner, self.route, canonical, self.key, self.retry_count)


async def _create(
    admission: Admission,
    estimator: QueueEstimator,
    key: ApiKey,
    body: SeedCreateRequest | SeedProCreateRequest,
    model: str,
    idempotency: _Idempotency,
) -> Response:
    request = VideoRequest(
        prompt=body.prompt,
        model=model,
        size=body.size,
        seconds=body.seconds,
        first_frame=body.image,
        webhook_url=body.webhook_url,
        surface="seed",
    )

    def submit() -> Admitted:
        return admission.submit(
            key.id,
            request,
            render=_renderer(estimator),
            idempotency=idempotency.scope(key.id, body),
            key=key,
        )

    admitted = await run_in_threadpool(submit)
    return stored_response(admitted)


@router.get(
    PRO_GENERATION + "/{task_id}",
    response_model=SeedTaskResponse,
    response_model_exclude_none=True,
    responses=_COMMON,
    summary="Query a sora-2-pro task (the same tasks as the sora endpoint)",
)
@router.get(
    GENERATION + "/{task_id}",
    response_model=SeedTaskResponse,
    response_model_exclude_none=True,
    responses=_COMMON,
    summary="Query a task; `videos` holds signed MP4 links once completed",
)
def get_task(task_id: TaskId, key: CurrentKey, context: ContextDep, request: Request) -> Response:
    """The task's status, with queue position, estimated start and completion, and phase while it
    waits or runs; `error` once failed; `videos` (signed MP4 links that need no header) once
    completed. Poll until the status is `completed` or `failed`, or use the events stream
    instead."""
    job = _find(context, task_id, key.id)
    videos = None
    if job.status is Status.COMPLETED and job.outputs is not None:
        base = (context.settings.public_base_url or str(request.base_url)).rstrip("/")
        videos = [base + context.signer.video_path(job.id)]
    body = to_task(job, videos, context.estimator.estimate(job)).model_dump_json(exclude_none=True)
    return Response(body, media_type="application/json")


@router.post(
    PRO_GENERATION + "/{task_id}/cancel",
    response_model=SeedTaskResponse,
    response_model_exclude_none=True,
    responses={**_COMMON, **_FINISHED},
    summary="Cancel a sora-2-pro task (the same tasks as the sora endpoint)",
)
@router.post(
    GENERATION + "/{task_id}/cancel",
    response_model=SeedTaskResponse,
    response_model_exclude_none=True,
    responses={**_COMMON, **_FINISHED},
    summary="Cancel a pending or processing task; the task stays readable as failed (3002)",
)
def cancel_task(task_id: TaskId, key: CurrentKey, context: ContextDep) -> Response:
    """A pending task is cancelled at once; a processing one stops within one engine step
    (this answer may still say ``processing``). Either way it then reads as ``failed`` with
    error code 3002. Cancelling a cancelled task is a no-op; a completed or failed one is a
    409."""
    job_id = job_id_from_task_id(task_id)
    try:
        if job_id is None:
            raise JobNotFound(task_id)
        job = context.runtime.store.request_cancel(job_id, key.id)
    except JobNotFound:
        raise not_found(f"task {task_id[:64]!r}") from None
    body = to_task(job, estimate=context.estimator.estimate(job)).model_dump_json(exclude_none=True)
    return Response(body, media_type="application/json")


_LINK_RESPONSES: dict[int | str, Any] = {
    200: {
        "content": {"video/mp4": {}},
        "description": "The MP4 (Range requests: 206), with `ETag` and `Cache-Control: "
        "private, max-age=...` (until the link or the video expires, one day at most)",
    },
    206: {"content": {"video/mp4": {}}, "description": "Part of the MP4"},
    304: {"description": "Not modified: `If-None-Match` names the current `ETag`"},
    307: {
        "description": 'With `blob_downloads = "redirect"`: the MP4\'s presigned URL in the '
        "object store, in `Location` (valid for the request's method)"
    },
    400: {"model": GatewayError, "description": "Missing or malformed link parameters"},
    403: {"model": GatewayError, "description": "Bad or expired signature"},
    404: {"model": GatewayError, "description": "Unknown task or file gone"},
    416: {"description": "Range not satisfiable"},
}
LinkExpires = Annotated[
    int,
    Query(
        ge=0,
        le=2**53,
        description="When the link expires (unix seconds); part of the signed link.",
        examples=[1767225600],
    ),
]
LinkSignature = Annotated[
    str,
    Query(
        min_length=1,
        max_length=128,
        pattern=r"^[A-Za-z0-9_-]+$",
        description="HMAC-SHA256 of the task id and `expires` (base64url); part of the signed "
        "link.",
        examples=["q3Vh0l7Yw1c2b9T0n8mXy5kPz4rJ6sLdAe2fGhIjKlM"],
    ),
]


@router.get(
    "/files/videos/{task_id}.mp4",
    response_class=Response,
    responses=_LINK_RESPONSES,
    summary="Download a completed task's MP4 through a signed link (no header needed)",
    description="The links in a completed task's `videos`: anyone holding one may fetch "
    "that one MP4 until `expires`, without an API key, so a `<video src>` can play it. "
    "Players seek with `Range`; revalidate with `If-None-Match` (304). A bad or expired "
    "link is a 403: take a fresh one from the task's `GET`.",
)
@router.head(
    "/files/videos/{task_id}.mp4",
    response_class=Response,
    responses=headers_only(_LINK_RESPONSES),
    summary="The headers of a signed download (size, type, ETag), without the MP4",
    description="The same status and headers as `GET` (`Content-Length`, `Content-Type`, "
    "`ETag`, `Accept-Ranges`, `Cache-Control`), no body: for players and download tools that "
    "probe first. Errors too come without a body.",
)
def signed_video(
    task_id: TaskId,
    context: ContextDep,
    request: Request,
    expires: LinkExpires,
    signature: LinkSignature,
) -> Response:
    problem = context.signer.check(task_id, expires, signature)
    if problem is not None:
        raise ApiError(403, problem, title="Invalid Link")
    job = _find(context, task_id, owner=None)
    if job.outputs is None:
        raise ApiError(404, "this task has no video (it is not completed)", title="Not Ready")
    now = context.runtime.store.clock()
    link_end = datetime.fromtimestamp(expires, UTC)
    return serve_blob(
        context.runtime,
        job.outputs.video,
        "video/mp4",
        "video.mp4",
        method=request.method,
        max_age=cache_seconds(now, job.expires_at, link_end),
    )


def _find(context: ContextDep, task_id: str, owner: str | None) -> Job:
    job_id = job_id_from_task_id(task_id)
    try:
        if job_id is None:
            raise JobNotFound(task_id)
        return context.runtime.store.get_job(job_id, owner)
    except JobNotFound:
        raise not_found(f"task {task_id[:64]!r}") from None


def _renderer(estimator: QueueEstimator) -> Render:
    return render_once(
        lambda job: StoredResponse(
            202,
            to_task(job, estimate=estimator.estimate(job)).model_dump_json(exclude_none=True),
            job.id,
        )
    )
