"""What a worker tells operators: its row in the worker registry, its job histograms (on its
metrics port, and relayed by a worker child process to the server), its log lines' context."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from reelforge.core.config import Settings
from reelforge.core.runtime import Runtime
from reelforge.domain.jobs import Status
from reelforge.domain.specs import GenerationSpec
from reelforge.engines.testcard import MODEL
from reelforge.worker import Worker, WorkerSupervisor
from reelforge.worker.metrics import COMPUTE_RATIO, JOB_DURATION, QUEUE_WAIT
from reelforge.worker.presence import gpu_memory
from tests.support.s3 import free_port
from tests.support.settings import SettingsFactory, subprocess_env
from tests.support.wait import wait_for
from tests.worker.test_supervisor import BROKEN_ENGINE

SPEC = GenerationSpec.build("a lighthouse at dusk", seconds=4, seed=3)


def completed(runtime: Runtime, job_id: str) -> bool:
    return runtime.store.get_job(job_id).status is Status.COMPLETED


def histogram_count(registry: object, name: str, labels: dict[str, str]) -> float:
    value = registry.get_sample_value(f"{name}_count", labels)  # type: ignore[attr-defined]
    return float(value or 0.0)


def test_a_worker_registers_serves_its_histograms_and_says_it_stopped(
    make_settings: SettingsFactory,
) -> None:
    port = free_port()
    runtime = Runtime.open(make_settings(worker_metrics_port=port))
    worker = Worker(runtime)
    try:
        worker.start()
        job = runtime.database.enqueue(SPEC)
        wait_for(lambda: completed(runtime, job.id), timeout=60)
        (row,) = runtime.database.workers.list()
        assert (row.id, row.name, row.pid) == (worker.presence.id, worker.worker_id, os.getpid())
        assert row.state == "loaded" and row.engine == "testcard" and row.models == (MODEL,)
        assert row.facts["is_test_engine"] == "true"
        text = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text
    finally:
        worker.stop()
    model = SPEC.model  # the job's model, as clients name it
    labels = f'engine="testcard",model="{model}",outcome="completed"'
    assert f"{JOB_DURATION}_count{{{labels}}} 1.0" in text
    assert f'{QUEUE_WAIT}_count{{model="{model}"}} 1.0' in text
    assert f'{COMPUTE_RATIO}_count{{engine="testcard",model="{model}"}} 1.0' in text
    (row,) = runtime.database.workers.list()
    assert row.state == "stopped"
    runtime.close()


def test_an_engine_that_cannot_load_is_in_the_registry_with_its_error(
    make_settings: SettingsFactory,
) -> None:
    runtime = Runtime.open(make_settings(engine=BROKEN_ENGINE))
    worker = Worker(runtime)
    try:
        worker.start()
        row = wait_for(
            lambda: next((r for r in runtime.database.workers.list() if r.state == "failed"), None),
            timeout=30,
        )
    finally:
        worker.stop()
        runtime.close()
    assert row.error == "model directory /nowhere does not exist"


def test_the_worker_child_relays_its_histograms_to_the_server(
    make_settings: SettingsFactory,
) -> None:
    settings = make_settings(embedded_workers_mode="process")
    runtime = Runtime.open(settings)
    supervisor = WorkerSupervisor(settings, runtime.signals)
    try:
        supervisor.start()
        job = runtime.database.enqueue(SPEC)
        wait_for(lambda: completed(runtime, job.id), timeout=90)
        labels = {"engine": "testcard", "model": SPEC.model, "outcome": "completed"}
        registry = supervisor.metrics.registry
        wait_for(lambda: histogram_count(registry, JOB_DURATION, labels) == 1, timeout=10)
        assert histogram_count(registry, QUEUE_WAIT, {"model": SPEC.model}) == 1
        (row,) = runtime.database.workers.list()
        assert row.pid == supervisor.pid and row.pid != os.getpid() and row.state == "loaded"
    finally:
        supervisor.stop()
        runtime.close()


def test_reelforge_worker_writes_json_lines_with_the_job_and_request_ids(
    tmp_path: Path, make_settings: SettingsFactory
) -> None:
    settings: Settings = make_settings()
    runtime = Runtime.open(settings)
    try:
        job = runtime.database.enqueue(SPEC, request_id="req-from-client")
        log_path = tmp_path / "worker.log"
        with log_path.open("wb") as log:
            process = subprocess.Popen(
                [sys.executable, "-m", "reelforge.cli", "worker"],
                env=subprocess_env(settings, REELFORGE_LOG_FORMAT="json"),
                stdout=log,
                stderr=subprocess.STDOUT,
            )
            try:
                wait_for(lambda: completed(runtime, job.id), timeout=90)
            finally:
                process.send_signal(signal.SIGTERM)
                process.wait(30)
    finally:
        runtime.close()
    lines = [line for line in log_path.read_text().splitlines() if line.strip()]
    entries = [json.loads(line) for line in lines]  # every line is one JSON object
    assert all({"time", "level", "logger", "message"} <= set(entry) for entry in entries)
    about_job = [entry for entry in entries if entry.get("job_id") == job.id]
    assert any(entry["message"].endswith("completed") for entry in about_job), lines
    assert {entry["request_id"] for entry in about_job} == {"req-from-client"}


def test_gpu_memory_is_only_read_where_cuda_is_already_in_use() -> None:
    torch = pytest.importorskip("torch")
    assert gpu_memory() is None or torch.cuda.is_initialized()
    # Asking never creates a CUDA context in a process that has none (the test card's).
    if not torch.cuda.is_initialized():
        gpu_memory()
        assert not torch.cuda.is_initialized()
