"""OpenAI-compatible surface: ``/v1/videos`` as the official SDK calls it."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query, Request
from fastapi.concurrency import run_in_threadpool
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
from reelforge.api.docs_routes import OPENAI_TAG
from reelforge.api.errors import ApiError, documented, not_found
from reelforge.api.mapping import job_id_from_video_id, to_video
from reelforge.api.openai_body import read_create_body
from reelforge.api.openapi_bodies import CREATE_VIDEO_BODY, headers_only
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
VideoId = Annotated[
    str,
    Path(
        max_length=64,
        description="The video's id: `video_` + 32 hex digits, as create returned it.",
        examples=["video_3f2b9c4e8d7a41b6a5c0e9f1d2b3a4c5"],
    ),
]
Variant = Annotated[
    Literal["video", "thumbnail", "spritesheet"],
    Query(
        description="Which file: `video` (MP4, H.264 + AAC), `thumbnail` (WebP, the first "
        "frame) or `spritesheet` (JPEG, a grid of frames for hover previews).",
        examples=["video"],
    ),
]
_VARIANTS = {
    "video": ("video/mp4", "video.mp4"),
    "thumbnail": ("image/webp", "thumbnail.webp"),
    "spritesheet": ("image/jpeg", "spritesheet.jpg"),
}

router = APIRouter(prefix="/v1/videos", tags=[OPENAI_TAG], responses=_COMMON)


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
    """Queues a video and answers with it, `queued`, as OpenAI's `videos.create` does. Send JSON,
    or multipart/form-data with the first frame as a file in `input_reference` (JPEG, PNG or
    WebP of exactly `size`). The prompt and first frame pass the content policy first (a
    refusal is a 400 with code `moderation_blocked`). Poll `GET /v1/videos/{video_id}` (the
    `openai-poll-after-ms` header says how often) or stream its events; download with `GET
    /v1/videos/{video_id}/content` once `completed`. Send `Idempotency-Key` to make retries
    safe."""
    body = await read_create_body(request)
    video_request = VideoRequest(
        prompt=body.fields.prompt,
        model=body.fields.model,
        size=body.fields.size,
        seconds=body.fields.seconds,
        first_frame=body.first_frame,
        seed=body.fields.seed,
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
    limit: Annotated[
        int, Query(ge=0, le=100, description="Videos per page (0-100).", examples=[20])
    ] = 20,
    order: Annotated[
        Literal["asc", "desc"],
        Query(
            description="By creation time: `desc` newest first, `asc` oldest first.",
            examples=["desc"],
        ),
    ] = "desc",
    after: Annotated[
        str | None,
        Query(
            max_length=64,
            pattern=VIDEO_ID_PATTERN,
            description="A video id: the page starts after it (the previous page's `last_id`).",
            examples=["video_3f2b9c4e8d7a41b6a5c0e9f1d2b3a4c5"],
        ),
    ] = None,
) -> VideoList:
    """Your key's videos, newest first by default, as OpenAI's `videos.list` pages them: pass the
    last id of a page as `after` for the next one while `has_more` is true."""
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
    """The video's status and progress, with ReelForge's queue position, estimated start and
    completion, and phase while it waits or runs. Poll until `completed` or `failed`; the
    `openai-poll-after-ms` header says how long to wait between polls."""
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
    """Deletes the video and its files. A queued video never runs; a running one stops within one
    engine step. Its id then answers 404."""
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


_CONTENT_RESPONSES: dict[int | str, Any] = {
    200: {
        "content": {t: {} for t, _ in _VARIANTS.values()},
        "description": "The file, with `ETag` and `Cache-Control: private, max-age=...` (it "
        "never changes; kept until the video expires, one day at most)",
    },
    206: {"content": {t: {} for t, _ in _VARIANTS.values()}, "description": "A byte range"},
    304: {"description": "Not modified: `If-None-Match` names the current `ETag`"},
    307: {
        "description": 'With `blob_downloads = "redirect"`: the file\'s presigned URL in the '
        "object store, in `Location` (valid for the request's method)"
    },
    404: {
        "model": OpenAIError,
        "description": "No such video for this API key, or it has no content: not "
        "completed yet, or failed (`video_not_ready`)",
    },
    416: {"description": "Range not satisfiable"},
}
_CONTENT_DOC = """Serves the completed video's MP4 (`variant=video`), its WebP thumbnail or its
JPEG spritesheet. Players seek with `Range` (206 with `Content-Range`; `If-Range` with the
`ETag` keeps a resumed download from splicing two files). The files never change once the
video completed: revalidate with `If-None-Match` (304) rather than download again."""


@router.get(
    "/{video_id}/content",
    response_class=Response,
    responses=_CONTENT_RESPONSES,
    summary="Download the video, thumbnail or spritesheet (Range requests supported)",
    description=_CONTENT_DOC,
)
@router.head(
    "/{video_id}/content",
    response_class=Response,
    responses=headers_only({**_COMMON, **_CONTENT_RESPONSES}),
    summary="The headers of a download (size, type, ETag), without the file",
    description="The same status and headers as `GET` (`Content-Length`, `Content-Type`, "
    "`ETag`, `Accept-Ranges`, `Cache-Control`), no body: for players and download tools that "
    "probe first. Errors too come without a body.",
)
def download_content(
    video_id: VideoId,
    key: CurrentKey,
    context: ContextDep,
    request: Request,
    variant: Variant = "video",
) -> Response:
    job = _find(context, video_id, key.id)
    if job.outputs is None:
        raise _no_content(job, video_id)
    blob_key = getattr(job.outputs, variant)
    media_type, filename = _VARIANTS[variant]
    max_age = cache_seconds(context.runtime.store.clock(), job.expires_at)
    return serve_blob(
        context.runtime, blob_key, media_type, filename, method=request.method, max_age=max_age
    )


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
    """Queues a new video from a completed one: the same model, size and length, a new prompt
    (checked by the content policy). The new video's `remixed_from_video_id` names the source."""
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
