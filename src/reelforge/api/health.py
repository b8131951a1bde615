"""Without auth: ``/healthz`` (the process answers), ``/readyz`` (it can do work), ``/metrics``."""

from __future__ import annotations

import contextlib
from typing import Literal

from fastapi import APIRouter
from pydantic import BaseModel, Field
from starlette.responses import JSONResponse, Response

from reelforge.api.deps import ContextDep
from reelforge.services import fleet
from reelforge.services.metrics import CONTENT_TYPE as METRICS_CONTENT_TYPE
from reelforge.store.database import DatabaseError

router = APIRouter(tags=["Health"])


class Liveness(BaseModel):
    """The process answers."""

    status: Literal["ok"] = Field(default="ok", description="Always `ok`.", examples=["ok"])


class Readiness(BaseModel):
    """Whether this node can do work, and why not."""

    status: Literal["ready", "not_ready"] = Field(
        description="`ready` (200) or `not_ready` (503).", examples=["ready"]
    )
    database: Literal["ok", "unreachable"] = Field(
        description="Whether the database answered.", examples=["ok"]
    )
    engine: str = Field(description="Configured engine name.", examples=["diffusers"])
    engine_state: Literal["loaded", "loading", "failed", "external"] = Field(
        description="The embedded workers' engine (in their child process, or in-process); "
        "`external`: no embedded workers (`serve --no-workers`). `failed` with an "
        "`engine_error` also while a crashed worker process is being restarted.",
        examples=["loaded"],
    )
    engine_error: str | None = Field(
        default=None,
        description="Why the embedded workers' engine failed to load; null otherwise.",
        examples=[None],
    )
    reason: str | None = Field(
        default=None,
        description="Why not ready, in one line; null when ready.",
        examples=["2 jobs queued and no worker seen in the last 30 s; start one"],
    )
    queue_depth: int | None = Field(
        description="Queued jobs; null if the database is down.", examples=[3]
    )
    workers_alive: int | None = Field(
        default=None,
        description="Workers (embedded or external) whose heartbeat in the worker registry is "
        "fresher than worker_stale_seconds; null if the database is down.",
        examples=[2],
    )
    workers_ready: int | None = Field(
        default=None,
        description="Of those, the workers whose engine is loaded: they can take jobs now. Not "
        "ready while jobs are queued and this is 0.",
        examples=[2],
    )
    policy_layers: list[str] = Field(
        description="The prompt policy's active layers, in order: `lexicon`, then `semantic` "
        "when the policy-ml extra is installed and `policy_semantic` allows it.",
        examples=[["lexicon", "semantic"]],
    )
    face_detector: str = Field(
        description="The first-frame face detector: `ssd` (a CNN), or `haar` (the weaker "
        "fallback, when the model package is missing).",
        examples=["ssd"],
    )


@router.get("/healthz", response_model=Liveness, summary="Liveness: the process answers")
def healthz() -> Liveness:
    """200 as long as the process serves HTTP, whatever the database or the engine do: for a
    liveness probe, which restarts a process that stops answering. Use `/readyz` to decide
    whether to send it work."""
    return Liveness()


@router.get(
    "/readyz",
    response_model=Readiness,
    responses={503: {"model": Readiness, "description": "Not ready"}},
    summary="Readiness: database reachable, engine loaded, a live worker for queued jobs",
    description="200 when the service can do work: the database answers, the embedded "
    "workers' engine is loaded (unless `serve --no-workers`), and queued jobs have a worker to "
    "run them (one whose heartbeat is fresh and whose engine is loaded). 503 with `reason` "
    "otherwise. With nothing queued an API-only node is ready without workers.",
)
def readyz(context: ContextDep) -> JSONResponse:
    runtime = context.runtime
    state, error = fleet.embedded_state(context.worker)
    depth: int | None = None
    verdict: fleet.Readiness | None = None
    with contextlib.suppress(DatabaseError):
        depth = runtime.store.queue_depth()
        verdict = fleet.readiness(runtime, depth, fleet.recent_workers(runtime), state, error)
    ready = verdict is not None and verdict.ready
    body = Readiness(
        status="ready" if ready else "not_ready",
        database="unreachable" if verdict is None else "ok",
        engine=context.settings.engine,
        engine_state=state,
        engine_error=error,
        reason="the database is unreachable" if verdict is None else verdict.reason,
        queue_depth=depth,
        workers_alive=None if verdict is None else verdict.workers_alive,
        workers_ready=None if verdict is None else verdict.workers_able,
        policy_layers=context.admission.prompt_policy.layers,
        face_detector=context.admission.face_policy.detector,
    )
    return JSONResponse(body.model_dump(), status_code=200 if ready else 503)


@router.get(
    "/metrics",
    include_in_schema=False,
    summary="Prometheus metrics: jobs by status, admissions, content-policy refusals",
)
def metrics(context: ContextDep) -> Response:
    return Response(context.metrics.render(), media_type=METRICS_CONTENT_TYPE)
