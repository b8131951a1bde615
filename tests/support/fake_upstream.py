"""A fake OpenAI ``/v1/videos`` server that behaves like the open in-memory video servers
(vLLM-Omni ``--omni``, SGLang): jobs live in a dict, are lost on ``restart()``, render for a
while with rising progress, and the clip comes back in whatever shape the server makes
(by default 5 s at 1280x704, no audio), not the one asked for.

Runs on loopback as a real HTTP server (uvicorn in a thread). Everything it does is steered by
``FakeUpstream.behaviour`` (a ``FakeUpstreamBehaviour``, mutable while it runs) and recorded
in its counters and ``requests`` log, so tests can say "exactly one create" or "a DELETE
reached the upstream"::

    with FakeUpstream() as upstream:
        client = openai.OpenAI(api_key=upstream.behaviour.api_key, base_url=upstream.api_base)
        video = client.videos.create(model="fake-video-1", prompt="a cat", seconds="4")
"""

from __future__ import annotations

import itertools
import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import Any, Literal

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response
from starlette.datastructures import UploadFile

from tests.support.fake_clip import ClipShape, make_clip
from tests.support.live import serve_in_thread


@dataclass
class FakeUpstreamBehaviour:
    """How the fake answers; tests change fields while it runs (read on every request)."""

    api_key: str | None = "fake-upstream-key"
    """Bearer token every request must carry; ``None`` turns auth off."""
    models: list[str] = field(default_factory=lambda: ["fake-video-1", "fake-video-1-pro"])
    """Model ids served (``GET /v1/models``); a create naming another answers 400."""
    render_seconds: float = 0.5
    """From create to completed; progress rises linearly. Fixed per job when it is created."""
    clip_size: str | None = "1280x704"
    """The size of every clip, whatever was asked; ``None``: the requested size."""
    clip_seconds: float | None = 5.0
    """Length of every clip; ``None``: the requested seconds."""
    clip_audio: bool = False
    """Add a 48 kHz stereo AAC tone to the clip."""
    clip_fps: int = 24
    clip_codec: str = "libx264"
    """``libx264`` or ``mpeg4`` (any PyAV encoder that writes MP4)."""
    fail_every: int = 0
    """Every Nth request (counted over all requests) answers 500; 0: never."""
    moderation_marker: str = "FORBIDDEN-TOPIC"
    """A prompt containing it is refused with ``moderation_blocked``."""
    moderation_at: Literal["create", "render"] = "create"
    """``create``: the POST answers 400. ``render``: accepted, then the job fails with it."""
    poll_after_ms: int | None = None
    """Sent as ``openai-poll-after-ms`` on POST / GET answers when set."""


@dataclass(frozen=True)
class LoggedRequest:
    method: str
    path: str
    status: int
    at: float
    """``time.time()`` when it was answered."""


@dataclass
class FakeJob:
    id: str
    model: str
    prompt: str
    size: str
    seconds: str
    created_at: int
    started: float
    """``time.monotonic()`` at create: progress is measured from it."""
    render_seconds: float
    shape: ClipShape
    input_reference: bytes | None = None
    input_reference_type: str | None = None
    fails_with: tuple[str, str] | None = None
    """(code, message) the job fails with once rendered."""


class FakeUpstream:
    """The server; use as a context manager. ``api_base`` is what an OpenAI client wants."""

    def __init__(self, behaviour: FakeUpstreamBehaviour | None = None) -> None:
        self.behaviour = behaviour or FakeUpstreamBehaviour()
        self.jobs: dict[str, FakeJob] = {}
        self.creates = 0
        self.deletes: list[str] = []
        self.gets = 0
        self.downloads = 0
        self.requests: list[LoggedRequest] = []
        self._counter = itertools.count(1)
        self._lock = threading.RLock()
        self.url = ""
        self._server: Any = None
        self._thread: threading.Thread | None = None

    @property
    def api_base(self) -> str:
        return f"{self.url}/v1"

    def __enter__(self) -> FakeUpstream:
        self._server, self._thread, self.url = serve_in_thread(build_app(self))
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=30)

    def restart(self) -> None:
        """Lose every job, as an in-memory server does when its process restarts."""
        with self._lock:
            self.jobs.clear()

    def requests_to(self, method: str, path_prefix: str = "/v1/videos") -> list[LoggedRequest]:
        with self._lock:
            return [
                r for r in self.requests if r.method == method and r.path.startswith(path_prefix)
            ]

    # --- what the routes call, under the lock ---------------------------------------------

    def create(self, fields: dict[str, str], reference: tuple[bytes, str] | None) -> FakeJob:
        b = self.behaviour
        fails = None
        if b.moderation_marker and b.moderation_marker in fields["prompt"]:
            fails = ("moderation_blocked", MODERATION_MESSAGE)
        size = fields.get("size") or "720x1280"
        seconds = fields.get("seconds") or "4"
        job = FakeJob(
            id=f"video_{uuid.uuid4().hex[:24]}",
            model=fields.get("model") or b.models[0],
            prompt=fields["prompt"],
            size=size,
            seconds=seconds,
            created_at=int(time.time()),
            started=time.monotonic(),
            render_seconds=b.render_seconds,
            shape=ClipShape(
                size=b.clip_size or size,
                seconds=b.clip_seconds if b.clip_seconds is not None else float(seconds),
                fps=b.clip_fps,
                audio=b.clip_audio,
                codec=b.clip_codec,
            ),
            input_reference=reference[0] if reference else None,
            input_reference_type=reference[1] if reference else None,
            fails_with=fails,
        )
        with self._lock:
            self.jobs[job.id] = job
            self.creates += 1
        return job

    def find(
        self, video_id: str, *, counts_as: Literal["get", "download"] | None = None
    ) -> FakeJob | None:
        with self._lock:
            if counts_as == "get":
                self.gets += 1
            job = self.jobs.get(video_id)
            if job is not None and counts_as == "download":
                self.downloads += 1
            return job

    def remove(self, video_id: str) -> FakeJob | None:
        with self._lock:
            job = self.jobs.pop(video_id, None)
            if job is not None:
                self.deletes.append(video_id)
            return job

    def next_request_fails(self) -> bool:
        with self._lock:
            count = next(self._counter)
        every = self.behaviour.fail_every
        return every > 0 and count % every == 0

    def log(self, method: str, path: str, status: int) -> None:
        with self._lock:
            self.requests.append(LoggedRequest(method, path, status, time.time()))


MODERATION_MESSAGE = "Your request was blocked by our moderation system."


def video_object(job: FakeJob) -> dict[str, Any]:
    """The OpenAI Video object for ``job`` as of now."""
    done = job.render_seconds <= 0 or time.monotonic() - job.started >= job.render_seconds
    progress = 100 if done else int(100 * (time.monotonic() - job.started) / job.render_seconds)
    status = "completed" if done else ("in_progress" if progress > 0 else "queued")
    body: dict[str, Any] = {
        "id": job.id,
        "object": "video",
        "model": job.model,
        "status": status,
        "progress": progress,
        "created_at": job.created_at,
        "completed_at": None,
        "expires_at": None,
        "error": None,
        "prompt": job.prompt,
        "remixed_from_video_id": None,
        "size": job.size,
        "seconds": job.seconds,
    }
    if done and job.fails_with is not None:
        code, message = job.fails_with
        body.update(status="failed", error={"code": code, "message": message})
    elif done:
        body["completed_at"] = job.created_at + max(1, round(job.render_seconds))
    return body


def error(status: int, message: str, code: str, param: str | None = None) -> JSONResponse:
    kind = "server_error" if status >= 500 else "invalid_request_error"
    body = {"error": {"message": message, "type": kind, "param": param, "code": code}}
    return JSONResponse(body, status_code=status)


def build_app(fake: FakeUpstream) -> FastAPI:
    routes = _Routes(fake)
    app = FastAPI()
    app.middleware("http")(routes.gate)
    app.add_api_route("/v1/models", routes.models, methods=["GET"])
    app.add_api_route("/v1/videos", routes.create, methods=["POST"])
    app.add_api_route("/v1/videos/{video_id}", routes.retrieve, methods=["GET"])
    app.add_api_route("/v1/videos/{video_id}/content", routes.content, methods=["GET"])
    app.add_api_route("/v1/videos/{video_id}", routes.delete, methods=["DELETE"])
    return app


class _Routes:
    """The endpoints; sync ones run in the thread pool (the clip is encoded there)."""

    def __init__(self, fake: FakeUpstream) -> None:
        self.fake = fake

    async def gate(self, request: Request, call_next: Any) -> Response:
        """Injected failures first (a crashing server checks nothing), then the key."""
        response: Response
        if self.fake.next_request_fails():
            response = error(500, "The server had an error (injected)", "internal_error")
        elif not _authorized(request, self.fake.behaviour.api_key):
            response = error(401, "Incorrect API key provided.", "invalid_api_key")
        else:
            response = await call_next(request)
        self.fake.log(request.method, request.url.path, response.status_code)
        return response

    def models(self) -> dict[str, Any]:
        data = [
            {"id": m, "object": "model", "created": 0, "owned_by": "fake-upstream"}
            for m in self.fake.behaviour.models
        ]
        return {"object": "list", "data": data}

    async def create(self, request: Request) -> Response:
        fields, reference = await _read_create(request)
        problem = _create_problem(fields, self.fake.behaviour)
        if problem is not None:
            return problem
        return _polled(self.fake, video_object(self.fake.create(fields, reference)))

    def retrieve(self, video_id: str) -> Response:
        job = self.fake.find(video_id, counts_as="get")
        return _polled(self.fake, video_object(job)) if job else _not_found(video_id)

    def content(self, video_id: str, variant: str = "video") -> Response:
        job = self.fake.find(video_id)
        if job is None:
            return _not_found(video_id)
        if variant != "video":
            return error(400, f"variant {variant!r} is not available", "invalid_value", "variant")
        if video_object(job)["status"] != "completed":
            return error(404, "Video is not ready yet; poll until completed.", "video_not_ready")
        self.fake.find(video_id, counts_as="download")
        return Response(make_clip(job.shape), media_type="video/mp4")

    def delete(self, video_id: str) -> Response:
        if self.fake.remove(video_id) is None:
            return _not_found(video_id)
        return JSONResponse({"id": video_id, "object": "video.deleted", "deleted": True})


def _authorized(request: Request, key: str | None) -> bool:
    return key is None or request.headers.get("authorization") == f"Bearer {key}"


def _polled(fake: FakeUpstream, body: dict[str, Any]) -> JSONResponse:
    after = fake.behaviour.poll_after_ms
    headers = {"openai-poll-after-ms": str(after)} if after is not None else None
    return JSONResponse(body, headers=headers)


def _not_found(video_id: str) -> JSONResponse:
    return error(404, f"Video with id '{video_id}' not found.", "video_not_found", "video_id")


async def _read_create(request: Request) -> tuple[dict[str, str], tuple[bytes, str] | None]:
    """JSON or multipart (what the openai SDK always sends) -> string fields and the upload."""
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind == "multipart/form-data":
        form = await request.form()
        fields = {k: v for k, v in form.items() if isinstance(v, str)}
        upload = form.get("input_reference")
        if isinstance(upload, UploadFile):
            return fields, (await upload.read(), upload.content_type or "")
        return fields, None
    try:
        body = await request.json()
    except ValueError:
        body = None
    if not isinstance(body, dict):
        return {}, None
    return {k: str(v) for k, v in body.items() if isinstance(v, str | int | float)}, None


def _create_problem(fields: dict[str, str], b: FakeUpstreamBehaviour) -> JSONResponse | None:
    if not fields.get("prompt"):
        return error(400, "Missing required parameter: 'prompt'.", "missing_required_parameter")
    model = fields.get("model")
    if model and model not in b.models:
        message = f"The model '{model}' does not exist; this server serves {', '.join(b.models)}."
        return error(400, message, "model_not_found", "model")
    seconds = fields.get("seconds", "4")
    if not seconds.replace(".", "", 1).isdigit():
        return error(400, f"Invalid value for 'seconds': {seconds!r}.", "invalid_value", "seconds")
    moderated = b.moderation_marker and b.moderation_marker in fields["prompt"]
    if moderated and b.moderation_at == "create":
        return error(400, MODERATION_MESSAGE, "moderation_blocked", "prompt")
    return None
