"""A worker process's own metrics: what only it sees (job timings, its engine's figures).

Queue and job counts come from the database through the API's ``/metrics``. The histograms
here are observed where jobs run: a worker serves them (with its engine's registry, e.g. an
upstream engine's per-upstream requests) on ``worker_metrics_port``; ``serve``'s embedded
workers add them to the API's ``/metrics`` as well (in-process: the same registry; in the
child process: each observation is relayed to the server, which observes it there too).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator
from datetime import datetime

from prometheus_client import CollectorRegistry, Histogram, start_http_server
from prometheus_client.metrics_core import Metric
from prometheus_client.registry import Collector

from reelforge.engines.base import Engine

log = logging.getLogger(__name__)

QUEUE_WAIT = "reelforge_queue_wait_seconds"
JOB_DURATION = "reelforge_job_duration_seconds"
COMPUTE_RATIO = "reelforge_job_compute_seconds_per_video_second"

Forward = Callable[[str, dict[str, str], float], None]
"""Receives every observation (name, labels, value): the child relays them to the server."""


class WorkerMetrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.forward: Forward | None = None
        self._histograms = {
            QUEUE_WAIT: Histogram(
                QUEUE_WAIT,
                "Seconds jobs waited in the queue, from creation to their first start.",
                ["model"],
                buckets=(0.1, 0.5, 1, 2, 5, 10, 30, 60, 120, 300, 600, 1800, 3600, 7200),
                registry=self.registry,
            ),
            JOB_DURATION: Histogram(
                JOB_DURATION,
                "Wall-clock seconds of job attempts on a worker slot, by engine, model and "
                "outcome (completed, failed, cancelled, released, lost, unknown).",
                ["engine", "model", "outcome"],
                buckets=(0.5, 1, 2, 5, 10, 20, 30, 60, 120, 300, 600, 1200, 1800, 3600),
                registry=self.registry,
            ),
            COMPUTE_RATIO: Histogram(
                COMPUTE_RATIO,
                "Compute seconds (all attempts) per second of video, of completed jobs, by "
                "engine and model.",
                ["engine", "model"],
                buckets=(0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 20, 50, 100, 200, 500),
                registry=self.registry,
            ),
        }

    def observe(self, name: str, labels: dict[str, str], value: float) -> None:
        """Record one observation (also what the server does with a relayed one)."""
        histogram = self._histograms.get(name)
        if histogram is None:
            log.warning("unknown worker metric %r; ignored", name)
            return
        histogram.labels(**labels).observe(value)
        forward = self.forward
        if forward is not None:
            forward(name, labels, value)

    def queue_wait(self, model: str, created_at: datetime, started_at: datetime) -> None:
        waited = (started_at - created_at).total_seconds()
        self.observe(QUEUE_WAIT, {"model": model}, max(0.0, waited))

    def attempt_ended(self, engine: str, model: str, outcome: str, seconds: float) -> None:
        labels = {"engine": engine, "model": model, "outcome": outcome}
        self.observe(JOB_DURATION, labels, seconds)

    def completed(
        self, engine: str, model: str, compute_seconds: float, video_seconds: int
    ) -> None:
        if video_seconds > 0:
            ratio = compute_seconds / video_seconds
            self.observe(COMPUTE_RATIO, {"engine": engine, "model": model}, ratio)


class RegistryView(Collector):
    """Another registry's metrics, collected as part of this one (a registry that includes
    the worker's or the engine's)."""

    def __init__(self, registries: Iterable[CollectorRegistry]) -> None:
        self._registries = tuple(registries)

    def collect(self) -> Iterator[Metric]:
        for registry in self._registries:
            yield from registry.collect()


def serve_worker_metrics(engine: Engine, metrics: WorkerMetrics, port: int | None) -> bool:
    """Serve the worker's histograms and its engine's registry (if it has one) on ``port``;
    False when no port is set or it cannot be listened on."""
    if port is None:
        return False
    served = CollectorRegistry(auto_describe=False)
    parts = [metrics.registry]
    engine_registry = getattr(getattr(engine, "metrics", None), "registry", None)
    if isinstance(engine_registry, CollectorRegistry):
        parts.append(engine_registry)
    served.register(RegistryView(parts))
    try:
        start_http_server(port, registry=served)
    except OSError as exc:
        log.error("worker metrics cannot be served on port %d: %s", port, exc)
        return False
    log.info("worker metrics on port %d (/metrics)", port)
    return True
