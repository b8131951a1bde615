"""Live status streams: ``GET /v1/videos/{id}/events`` and the seed task API's
``GET .../generation/{task_id}/events``, as Server-Sent Events.

The route checks the key and the id (404 in the surface's shape) before the stream starts; the
stream then registers with the process's ``JobWatchHub`` (one database reader for all
streams), replays what the client missed, and sends the job's changes until it ends.

Streams use sse-starlette's ``EventSourceResponse`` rather than a hand-written
``StreamingResponse``: it watches for the client's disconnect while the generator waits (so an
abandoned stream is closed and unregistered at once, not at the next write), sends keep-alive
comments, ends streams when uvicorn shuts down, and answers HEAD without opening a stream.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from typing import Annotated, Any

from fastapi import APIRouter, Header, Request
from fastapi.concurrency import run_in_threadpool
from sse_starlette import EventSourceResponse, ServerSentEvent

from reelforge.api.deps import ContextDep, CurrentKey
from reelforge.api.docs_routes import EVENTS_TAG
from reelforge.api.errors import documented, not_found
from reelforge.api.event_stream import EventStreamSession, Render
from reelforge.api.mapping import job_id_from_task_id, job_id_from_video_id, to_task, to_video
from reelforge.api.openai_routes import VideoId
from reelforge.api.schemas.openai import OpenAIError
from reelforge.api.schemas.seed import GatewayError
from reelforge.api.seed_routes import GENERATION, PRO_GENERATION, TaskId
from reelforge.domain.errors import JobNotFound
from reelforge.domain.events import percent
from reelforge.domain.jobs import Job, Status
from reelforge.services.estimates import Estimate
from reelforge.services.watch import JobWatchHub

KEEPALIVE_SECONDS = 15
_MAX_EVENT_ID_DIGITS = 18

_EVENTS_DOC = """A `text/event-stream` of the job's life, ending after its terminal event.
Each event's `event:` is `queued` (again whenever the queue position moves), `started`,
`progress` (at least once a second while running), then `completed`, `failed` or `cancelled`.
`data:` is JSON: {what}. `id:` is the job event log's sequence number: reconnect with
`Last-Event-ID` to be replayed the recorded events after it, then the current state (events
may repeat across a resume; `data` is always the state they describe). A `Last-Event-ID` that
is not a number is ignored (the stream starts from the current state). Comment lines (`:`) are
keep-alives, sent every 15 s."""
_STREAM_DOC = """Instead of polling `{poll}`: one connection that sends every change of the
job (queue position, start, progress at least once a second, then the end) and closes after
its terminal event. Works with any EventSource client; the first event is the current state."""
_OPENAI_WHAT = "the same Video object as `GET /v1/videos/{video_id}` returns"
_SEED_WHAT = (
    "the same object as `GET .../generation/{task_id}` returns (`task_info`, and `videos` once "
    "completed), plus `progress` (0-100)"
)
_EVENT_SCHEMA: dict[str, Any] = {
    "description": "One event of the stream (the schema of each event, not of the whole body).",
    "type": "object",
    "required": ["event", "data"],
    "properties": {
        "event": {
            "type": "string",
            "enum": ["queued", "started", "progress", "completed", "failed", "cancelled"],
            "description": "What happened: the job's state it moved to, or `progress`.",
            "examples": ["progress"],
        },
        "data": {
            "type": "string",
            "contentMediaType": "application/json",
            "description": "The job's state after the event, as JSON (see the response).",
            "examples": ['{"status":"in_progress","progress":40}'],
        },
        "id": {
            "type": "string",
            "pattern": "^[0-9]+$",
            "description": "The event's sequence number: send it as `Last-Event-ID` to resume.",
            "examples": ["17"],
        },
        "retry": {
            "type": "integer",
            "minimum": 0,
            "description": "Milliseconds an EventSource waits before reconnecting.",
            "examples": [3000],
        },
    },
}
LastEventId = Annotated[
    str | None,
    Header(
        alias="Last-Event-ID",
        description="Resume after this event `id` (sent automatically by EventSource clients "
        "on reconnect).",
        examples=["17"],
    ),
]


def _stream_responses(what: str, error_model: type[Any]) -> dict[int | str, Any]:
    ok: dict[int | str, Any] = {
        200: {
            "description": _EVENTS_DOC.format(what=what),
            "content": {"text/event-stream": {"schema": _EVENT_SCHEMA}},
        }
    }
    errors = {
        401: "Missing, malformed or revoked API key",
        404: "No such job for this API key",
    }
    return {**ok, **documented(error_model, errors)}


openai_router = APIRouter(prefix="/v1/videos", tags=[EVENTS_TAG])
seed_router = APIRouter(tags=[EVENTS_TAG])


@openai_router.get(
    "/{video_id}/events",
    response_class=EventSourceResponse,
    responses=_stream_responses(_OPENAI_WHAT, OpenAIError),
    summary="OpenAI videos API: stream a video's status as Server-Sent Events",
    description=_STREAM_DOC.format(poll="GET /v1/videos/{video_id}"),
)
async def video_events(
    video_id: VideoId,
    key: CurrentKey,
    context: ContextDep,
    last_event_id: LastEventId = None,
) -> EventSourceResponse:
    job_id = job_id_from_video_id(video_id)
    if job_id is None or not await _visible(context.runtime.store.get_job, job_id, key.id):
        raise not_found(f"video {video_id[:64]!r}")

    def render(job: Job, estimate: Estimate) -> str:
        return to_video(job, estimate).model_dump_json()

    return _respond(_hub(context), job_id, key.id, last_event_id, render)


@seed_router.get(
    PRO_GENERATION + "/{task_id}/events",
    response_class=EventSourceResponse,
    responses=_stream_responses(_SEED_WHAT, GatewayError),
    summary="Seed task API: stream a sora-2-pro task's status as Server-Sent Events",
    description=_STREAM_DOC.format(poll="GET .../sora-2-pro/generation/{task_id}"),
)
@seed_router.get(
    GENERATION + "/{task_id}/events",
    response_class=EventSourceResponse,
    responses=_stream_responses(_SEED_WHAT, GatewayError),
    summary="Seed task API: stream a task's status as Server-Sent Events",
    description=_STREAM_DOC.format(poll="GET .../generation/{task_id}"),
)
async def task_events(
    task_id: TaskId,
    key: CurrentKey,
    context: ContextDep,
    request: Request,
    last_event_id: LastEventId = None,
) -> EventSourceResponse:
    job_id = job_id_from_task_id(task_id)
    if job_id is None or not await _visible(context.runtime.store.get_job, job_id, key.id):
        raise not_found(f"task {task_id[:64]!r}")
    base = (context.settings.public_base_url or str(request.base_url)).rstrip("/")

    def render(job: Job, estimate: Estimate) -> str:
        videos = None
        if job.status is Status.COMPLETED and job.outputs is not None:
            videos = [base + context.signer.video_path(job.id)]
        body = to_task(job, videos, estimate).model_dump(mode="json", exclude_none=True)
        body["progress"] = percent(job)
        return json.dumps(body, separators=(",", ":"))

    return _respond(_hub(context), job_id, key.id, last_event_id, render)


# -- helpers -------------------------------------------------------------------------------------


async def _visible(get_job: Callable[[str, str], Job], job_id: str, owner: str) -> bool:
    try:
        await run_in_threadpool(get_job, job_id, owner)
    except JobNotFound:
        return False
    return True


def _hub(context: ContextDep) -> JobWatchHub:
    hub = context.watch_hub
    assert hub is not None, "the app's lifespan starts the watch hub"
    return hub


def parse_last_event_id(value: str | None) -> int | None:
    """The seq to resume after, or None (no header, or not one of our ids: ignored)."""
    if value is None:
        return None
    value = value.strip()
    if not value.isascii() or not value.isdigit() or len(value) > _MAX_EVENT_ID_DIGITS:
        return None
    return int(value)


def _respond(
    hub: JobWatchHub, job_id: str, owner: str, last_event_id: str | None, render: Render
) -> EventSourceResponse:
    events = stream_events(hub, job_id, owner, parse_last_event_id(last_event_id), render)
    return EventSourceResponse(
        events,
        ping=KEEPALIVE_SECONDS,
        headers={"Cache-Control": "no-cache"},
    )


async def stream_events(
    hub: JobWatchHub, job_id: str, owner: str, after_seq: int | None, render: Render
) -> AsyncIterator[ServerSentEvent]:
    """The stream: register, read the opening (after registering, so nothing recorded in
    between is missed), then follow the hub until the job ends or the client leaves. The
    watch is registered inside the generator, so its ``finally`` always unregisters it."""
    watch = hub.watch(job_id)
    try:
        session = EventStreamSession(render)
        try:
            opening = await run_in_threadpool(hub.open, job_id, owner, after_seq)
        except JobNotFound:
            return  # deleted since the route checked it; a reconnect gets 404
        for event in session.opening(opening):
            yield event
        while not session.finished:
            update = await watch.next(min(session.seconds_until_due(), KEEPALIVE_SECONDS))
            batch = session.on_update(update) if update is not None else []
            for event in batch + session.on_tick():
                yield event
    finally:
        hub.unwatch(watch)
