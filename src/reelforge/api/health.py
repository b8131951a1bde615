"""Without auth: ``/healthz`` (the process answers), ``/readyz`` (it can do work), ``/metrics``."""

from __future__ import annotations

import contextlib
from typing import Literal

from fastapi import APIRouter
from pydantic import BaseModel, Field
from starlette.responses import JSONResponse, Response

from reelforge.api.deps import ContextDep
from reelforge.services.metrics import CONTENT_TYPE as METRICS_CONTENT_TYPE
from reelforge.store.database import DatabaseError

router = APIRouter(tags=["Health"])


class Liveness(BaseModel):
    status: Literal["ok"] = "ok"


class Readiness(BaseModel):
    status: Literal["ready", "not_ready"]
    database: Literal["ok", "unreachable"]
    engine: str = Field(description="Configured engine name.")
    engine_state: Literal["loaded", "loading", "failed", "external"] = Field(
        description="The embedded workers' engine (in their child process, or in-process); "
        "`external`: no embedded workers (`serve --no-workers`). `failed` with an "
        "`engine_error` also while a crashed worker process is being restarted."
    )
    engine_error: str | None = None
    queue_depth: int | None = Field(description="Queued jobs; null if the database is down.")
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
    return Liveness()


@router.get(
    "/readyz",
    response_model=Readiness,
    responses={503: {"model": Readiness, "description": "Not ready"}},
    summary="Readiness: database reachable, engine loaded, queue depth",
)
def readyz(context: ContextDep) -> JSONResponse:
    runtime = context.runtime
    depth: int | None = None
    database: Literal["ok", "unreachable"] = "unreachable"
    with contextlib.suppress(DatabaseError):
        depth, database = runtime.store.queue_depth(), "ok"
    worker = context.worker
    error = worker.engine_error if worker is not None else None
    state: Literal["loaded", "loading", "failed", "external"] = "external"
    if worker is not None:
        state = "loaded" if worker.ready else "failed" if error else "loading"
    ready = database == "ok" and state in ("loaded", "external")
    body = Readiness(
        status="ready" if ready else "not_ready",
        database=database,
        engine=context.settings.engine,
        engine_state=state,
        engine_error=error,
        queue_depth=depth,
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
