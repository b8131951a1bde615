"""OpenAI-compatible surface: ``/v1/videos`` as the official SDK calls it."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query, Request
from fastapi.concurrency import run_in_threadpool
from starlette.responses import Response

from reelforge.api.content import serve_blob
from reelforge.api.deps import (
    AdmissionDep,
    ContextDep,
    CurrentKey,
    IdempotencyHeader,
    RetryCountHeader,
    idempotency_scope,
)
from reelforge.api.errors import ApiError, documented, not_found
from reelforge.api.mapping import job_id_from_video_id, to_video
from reelforge.api.openai_body import read_create_body
from reelforge.api.openapi_bodies import CREATE_VIDEO_BODY
from reelforge.api.replies import Render, render_once, stored_response
from reelforge.api.schemas.openai import (
    VIDEO_ID_PATTERN,
    OpenAIError,
    Video,
    VideoDeleted,
    VideoList,
    VideoRemixRequest,
)
from reelforge.domain.errors import JobNotFound
from reelforge.domain.jobs import Job, Status
from reelforge.services.admission import Admitted, VideoRequest
from reelforge.services.estimates import QueueEstimator
from reelforge.store.idempotency import StoredResponse

_COMMON = documented(
    OpenAIError,
    {
        400: "Invalid request, or `moderation_blocked`",
        401: "Missing, malformed or revoked API key",
        404: "No such video for this API key",
    },
)
_IDEMPOTENCY = documented(
    OpenAIError,
    {
        409: "Idempotency-Key in use by a request still running",
        422: "Idempotency-Key reused with a different body",
    },
)
_LIMITS = documented(
    OpenAIError,
    {
        403: "The key may not use this model (`model_not_allowed`)",
        429: "A limit of the key was reached: `rate_limit_exceeded` (request rate, queue cap) "
        "or `insufficient_quota` (a budget); `Retry-After` says when to retry, "
        "`x-reelforge-limit` which limit",
    },
)
VideoId = Annotated[str, Path(max_length=64, description="`video_` + 32 hex digits")]
_VARIANTS = {
    "video": ("video/mp4", "video.mp4"),
    "thumbnail": ("image/webp", "thumbnail.webp"),
    "spritesheet": ("image/jpeg", "spritesheet.jpg"),
}

router = APIRouter(prefix="/v1/videos", tags=["OpenAI videos API"], responses=_COMMON)


@router.post(
    "",
    response_model=Video,
    responses={
        **_IDEMPOTENCY,
        **_LIMITS,
        413: {"model": OpenAIError, "description": "Body over 16 MB"},
        415: {"model": OpenAIError, "description": "Neither JSON nor multipart"},
    },
    summary="Create a video (JSON or multipart; a file in `input_reference`)",
    openapi_extra=CREATE_VIDEO_BODY,
)
async def create_video(
    request: Request,
    key: CurrentKey,
    context: ContextDep,
    idempotency_key: IdempotencyHeader = None,
    retry_count: RetryCountHeader = None,
) -> Response:
    body = await read_create_body(request)
    video_request = VideoRequest(
        prompt=body.fields.prompt,
        model=body.fields.model,
        size=body.fields.size,
        seconds=body.fields.seconds,
        first_frame=body.first_frame,
        webhook_url=body.fields.webhook_url,
        surface="openai",
    )
    scope = idempotency_scope(key.id, "/v1/videos", body.canonical, idempotency_key, retry_count)
    render = _renderer(context.estimator)
    admitted = await run_in_threadpool(
        context.admission.submit,
        key.id,
        video_request,
        render=render,
        idempotency=scope,
        key=key,
    )
    return _stored(admitted, context.settings.poll_after_ms)


@router.get("", response_model=VideoList, summary="List your videos (cursor pagination)")
def list_videos(
    key: CurrentKey,
    context: ContextDep,
    limit: Annotated[int, Query(ge=0, le=100)] = 20,
    order: Annotated[Literal["asc", "desc"], Query()] = "desc",
    after: Annotated[str | None, Query(max_length=64, pattern=VIDEO_ID_PATTERN)] = None,
) -> VideoList:
    anchor = _job_id(after) if after is not None else None
    try:
        jobs = context.runtime.store.list_jobs(key.id, limit=limit + 1, after=anchor, order=order)
    except JobNotFound:
        # 404, not 400: the request is well formed, the video it names does not exist.
        raise ApiError(
            404,
            f"after: no video {after!r} (deleted, or another key's); restart from the first page",
            param="after",
        ) from None
    # Terminal jobs cost nothing to estimate; each queued one is one indexed count.
    page = [to_video(job, context.estimator.estimate(job)) for job in jobs[:limit]]
    return VideoList(
        data=page,
        first_id=page[0].id if page else None,
        last_id=page[-1].id if page else None,
        has_more=len(jobs) > limit,
    )


@router.get("/{video_id}", response_model=Video, summary="Retrieve a video's status")
def retrieve_video(video_id: VideoId, key: CurrentKey, context: ContextDep) -> Response:
    job = _find(context, video_id, key.id)
    return Response(
        to_video(job, context.estimator.estimate(job)).model_dump_json(),
        media_type="application/json",
        headers={"openai-poll-after-ms": str(context.settings.poll_after_ms)},
    )


@router.delete(
    "/{video_id}", response_model=VideoDeleted, summary="Delete a video; stops it if running"
)
def delete_video(video_id: VideoId, key: CurrentKey, context: ContextDep) -> VideoDeleted:
    job_id = _job_id(video_id)
    try:
        # Deleting the row fences the worker out (its next write finds no row) and signals it
        # to stop; then the files go.
        context.runtime.store.delete_job(job_id, key.id)
    except JobNotFound:
        raise not_found("this video") from None
    context.runtime.blobs.remove_job(job_id)
    return VideoDeleted(id=video_id)


@router.post(
    "/{video_id}/cancel",
    response_model=Video,
    responses=documented(
        OpenAIError, {409: "The video already completed or failed (`video_already_finished`)"}
    ),
    summary="Cancel a queued or running video; the video stays readable as failed/cancelled",
)
def cancel_video(video_id: VideoId, key: CurrentKey, context: ContextDep) -> Video:
    """A queued video is cancelled at once; a running one stops within one engine step (this
    answer may still say ``in_progress``). Either way it then reads as ``failed`` with
    ``error.code == "cancelled"``. Cancelling a cancelled video is a no-op; a completed or
    failed one is a 409."""
    try:
        job = context.runtime.store.request_cancel(_job_id(video_id), key.id)
    except JobNotFound:
        raise not_found(f"video {video_id[:64]!r}") from None
    return to_video(job, context.estimator.estimate(job))


@router.get(
    "/{video_id}/content",
    response_class=Response,
    responses={
        200: {"content": {t: {} for t, _ in _VARIANTS.values()}, "description": "The file"},
        206: {"content": {t: {} for t, _ in _VARIANTS.values()}, "description": "A byte range"},
        404: {
            "model": OpenAIError,
            "description": "No such video for this API key, or it has no content: not "
            "completed yet, or failed (`video_not_ready`)",
        },
        416: {"description": "Range not satisfiable"},
    },
    summary="Download the video, thumbnail or spritesheet (Range requests supported)",
)
def download_content(
    video_id: VideoId,
    key: CurrentKey,
    context: ContextDep,
    variant: Annotated[Literal["video", "thumbnail", "spritesheet"], Query()] = "video",
) -> Response:
    job = _find(context, video_id, key.id)
    if job.outputs is None:
        raise _no_content(job, video_id)
    blob_key = getattr(job.outputs, variant)
    media_type, filename = _VARIANTS[variant]
    return serve_blob(context.runtime, blob_key, media_type, filename)


@router.post(
    "/{video_id}/remix",
    response_model=Video,
    responses={
        **_IDEMPOTENCY,
        **_LIMITS,
        409: {
            "model": OpenAIError,
            "description": "The source video is not completed (`video_not_ready`; final), or "
            "the Idempotency-Key is in use by a request still running",
        },
    },
    summary="Remix a completed video with a new prompt",
)
async def remix_video(
    video_id: VideoId,
    body: VideoRemixRequest,
    key: CurrentKey,
    admission: AdmissionDep,
    context: ContextDep,
    idempotency_key: IdempotencyHeader = None,
    retry_count: RetryCountHeader = None,
) -> Response:
    source = await run_in_threadpool(_find, context, video_id, key.id)
    if source.status is not Status.COMPLETED:
        raise _not_remixable(source)
    request = VideoRequest(
        prompt=body.prompt,
        model=source.spec.model,
        size=source.spec.size,
        seconds=source.spec.seconds,
        remix_of=source,
        surface="openai",
    )
    route = f"/v1/videos/{video_id}/remix"
    canonical = body.model_dump_json().encode()
    scope = idempotency_scope(key.id, route, canonical, idempotency_key, retry_count)
    render = _renderer(context.estimator)
    admitted = await run_in_threadpool(
        admission.submit, key.id, request, render=render, idempotency=scope, key=key
    )
    return _stored(admitted, context.settings.poll_after_ms)


def _no_content(job: Job, video_id: str) -> ApiError:
    """404, as OpenAI answers (``Video is not ready yet``): the video exists, its content does
    not (yet, or ever once it failed)."""
    if job.status.is_terminal:
        message = f"the video {to_video(job).status} ({job.error_code}), so it has no content"
    else:
        message = (
            f"the video is {to_video(job).status}, so it has no content yet; poll "
            f"GET /v1/videos/{video_id} until its status is completed"
        )
    return ApiError(404, message, param="video_id", code="video_not_ready")


def _not_remixable(source: Job) -> ApiError:
    """409: a well-formed remix of a video in the wrong state (the schema cannot say which
    videos are completed). Final: the openai SDK would retry a 409 unless told not to."""
    status = to_video(source).status
    wait = "poll it until it completes" if not source.status.is_terminal else "it never will"
    return ApiError(
        409,
        f"the source video is {status}; only a completed video can be remixed ({wait})",
        param="video_id",
        code="video_not_ready",
        error_type="invalid_request_error",
        headers={"x-should-retry": "false"},
    )


def _job_id(video_id: str) -> str:
    job_id = job_id_from_video_id(video_id)
    if job_id is None:
        raise not_found(f"video {video_id[:64]!r}")
    return job_id


def _find(context: ContextDep, video_id: str, owner: str) -> Job:
    try:
        return context.runtime.store.get_job(_job_id(video_id), owner)
    except JobNotFound:
        raise not_found(f"video {video_id[:64]!r}") from None


def _renderer(estimator: QueueEstimator) -> Render:
    return render_once(
        lambda job: StoredResponse(
            200, to_video(job, estimator.estimate(job)).model_dump_json(), job.id
        )
    )


def _stored(admitted: Admitted, poll_after_ms: int) -> Response:
    return stored_response(admitted, {"openai-poll-after-ms": str(poll_after_ms)})
