"""Operator endpoints (``/v1/admin/...``), for admin keys (``reelforge keys create --admin``):
the queue, the workers and their engines, as the web studio's operator page shows them."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Depends
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, Field

from reelforge.api.deps import ContextDep, CurrentKey
from reelforge.api.errors import ApiError, documented
from reelforge.api.schemas.openai import OpenAIError
from reelforge.services.fleet import FleetStatus, embedded_state, fleet_status
from reelforge.store.keys import ApiKey
from reelforge.store.workers import WorkerRecord

router = APIRouter(prefix="/v1/admin", tags=["Operator"])


async def admin_key(key: CurrentKey) -> ApiKey:
    if not key.admin:
        raise ApiError(
            403,
            "this endpoint needs an admin API key; create one with `reelforge keys create --admin`",
            code="admin_required",
            title="Admin Key Required",
        )
    return key


AdminKey = Annotated[ApiKey, Depends(admin_key)]


class QueueStatus(BaseModel):
    """The queue: jobs by status and the longest wait."""

    counts: dict[str, int] = Field(
        description="Jobs by internal status (queued, running, completed, failed, cancelled).",
        examples=[{"queued": 3, "running": 1, "completed": 10, "failed": 0, "cancelled": 0}],
    )
    oldest_queued_age_seconds: float | None = Field(
        description="How long the longest-waiting queued job has waited; null: none queued.",
        examples=[12.5],
    )


class GpuStatus(BaseModel):
    """A worker's GPU and its memory."""

    device: str = Field(description="The GPU's name.", examples=["NVIDIA H200"])
    memory_used_bytes: int = Field(
        description="Device memory in use (all processes).", examples=[52_613_349_376]
    )
    memory_total_bytes: int = Field(
        description="Device memory in total.", examples=[150_754_820_096]
    )


class WorkerStatus(BaseModel):
    """One worker process, as its heartbeats in the worker registry describe it."""

    id: str = Field(
        description="This worker process start's registry id.",
        examples=["3f2a9c1e-6b4d-4e8f-9a0b-1c2d3e4f5a6b"],
    )
    name: str = Field(
        description="The name in lease rows (worker_id, default host:pid).",
        examples=["gpu-1:4242"],
    )
    host: str = Field(description="The machine it runs on.", examples=["gpu-1"])
    pid: int = Field(description="Its process id there.", examples=[4242])
    engine: str = Field(description="Its engine.", examples=["diffusers"])
    models: list[str] = Field(description="What its engine serves.", examples=[["testcard-v1"]])
    state: Literal["loading", "loaded", "failed", "stopped"] = Field(
        description="Its engine: loading, loaded, failed (see error), or stopped (the worker "
        "exited cleanly).",
        examples=["loaded"],
    )
    error: str | None = Field(
        description="Why the engine failed to load; null unless failed.", examples=[None]
    )
    alive: bool = Field(
        description="Seen within worker_stale_seconds and not stopped.", examples=[True]
    )
    running_jobs: int = Field(description="Jobs it is running now.", examples=[1])
    concurrency: int = Field(description="Jobs it runs at once at most.", examples=[1])
    started_at: int = Field(description="When it started (unix seconds).", examples=[1764633000])
    last_seen: int = Field(description="Unix seconds of its last heartbeat.", examples=[1764633598])
    last_seen_age_seconds: float = Field(
        description="Seconds since its last heartbeat.", examples=[2.1]
    )
    gpu: GpuStatus | None = Field(description="Its GPU, when its engine runs on one.")


class EngineLoadFailure(BaseModel):
    """A live worker whose engine could not load."""

    worker: str = Field(description="The worker's name.", examples=["gpu-1:4242"])
    engine: str = Field(description="The engine it tried to load.", examples=["diffusers"])
    error: str = Field(
        description="Why it failed, as the engine said.",
        examples=["model directory /models/wan does not exist"],
    )


class AdminStatus(BaseModel):
    """The whole service at a glance, for operators."""

    object: Literal["admin.status"] = Field(
        default="admin.status", description="Always `admin.status`.", examples=["admin.status"]
    )
    generated_at: int = Field(
        description="When this was read (unix seconds).", examples=[1764633600]
    )
    ready: bool = Field(description="What /readyz says.", examples=[True])
    not_ready_reason: str | None = Field(
        description="Why not ready, in one line; null when ready.", examples=[None]
    )
    engine: str = Field(
        description="The engine this API node is configured with.", examples=["diffusers"]
    )
    queue: QueueStatus = Field(description="Jobs by status and the longest wait.")
    workers: list[WorkerStatus] = Field(description="Workers seen in the last 24 h.")
    engine_errors: list[EngineLoadFailure] = Field(description="Live workers whose engine failed.")


@router.get(
    "/status",
    response_model=AdminStatus,
    summary="Queue, workers and engines (admin keys only)",
    description="The whole service at a glance for operators: jobs by status, how long the "
    "oldest queued job has waited, every worker seen in the last day with its engine, models, "
    "state, last heartbeat and GPU memory, and engine load errors. Needs an admin key "
    "(`reelforge keys create --admin`); other keys get 403.",
    responses=documented(OpenAIError, {401: "Missing or invalid API key", 403: "Not an admin key"}),
)
async def admin_status(context: ContextDep, _key: AdminKey) -> AdminStatus:
    state, error = embedded_state(context.worker)
    status = await run_in_threadpool(fleet_status, context.runtime, state, error)
    return _to_wire(status, context.settings.engine)


def _to_wire(status: FleetStatus, engine: str) -> AdminStatus:
    now = status.now
    oldest = status.oldest_queued_at
    workers = [_worker(w, now, status) for w in status.workers]
    return AdminStatus(
        generated_at=_unix(now),
        ready=status.readiness.ready,
        not_ready_reason=status.readiness.reason,
        engine=engine,
        queue=QueueStatus(
            counts={s.value: n for s, n in status.counts.items()},
            oldest_queued_age_seconds=None if oldest is None else _age(now, oldest),
        ),
        workers=workers,
        engine_errors=[
            EngineLoadFailure(worker=w.name, engine=w.engine, error=w.error or "")
            for w in workers
            if w.alive and w.state == "failed"
        ],
    )


def _worker(record: WorkerRecord, now: datetime, status: FleetStatus) -> WorkerStatus:
    gpu = record.gpu
    return WorkerStatus(
        id=record.id,
        name=record.name,
        host=record.host,
        pid=record.pid,
        engine=record.engine,
        models=list(record.models),
        state=record.state,
        error=record.error,
        alive=record.alive(now, status.stale_after),
        running_jobs=record.running,
        concurrency=record.concurrency,
        started_at=_unix(record.started_at),
        last_seen=_unix(record.last_seen),
        last_seen_age_seconds=_age(now, record.last_seen),
        gpu=None
        if gpu is None
        else GpuStatus(
            device=gpu.device, memory_used_bytes=gpu.used_bytes, memory_total_bytes=gpu.total_bytes
        ),
    )


def _unix(moment: datetime) -> int:
    return int(moment.timestamp())


def _age(now: datetime, then: datetime) -> float:
    return round(max(0.0, (now - then).total_seconds()), 3)
