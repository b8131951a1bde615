"""Per-upstream Prometheus metrics, in the engine's own registry.

The engine runs in worker processes, which may be on other hosts than the API; a worker
serves this registry on ``worker_metrics_port`` when that is set (``reelforge.worker.metrics``).
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from reelforge.engines.upstream.pool import UpstreamSlot


class UpstreamMetrics:
    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry(auto_describe=True)
        self.requests = Counter(
            "reelforge_upstream_requests",
            "Requests to upstream servers, by upstream, operation (create, poll, download, "
            "cancel, probe) and outcome (ok, unavailable, refused, lost).",
            ["upstream", "operation", "outcome"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "reelforge_upstream_request_seconds",
            "Time an upstream took to answer one request, by upstream and operation.",
            ["upstream", "operation"],
            buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300),
            registry=self.registry,
        )
        self.in_flight = Gauge(
            "reelforge_upstream_in_flight",
            "Jobs this worker process has on each upstream now.",
            ["upstream"],
            registry=self.registry,
        )
        self.healthy = Gauge(
            "reelforge_upstream_healthy",
            "1 while an upstream is in use, 0 while it is out of use after failures.",
            ["upstream"],
            registry=self.registry,
        )
        self.resubmissions = Counter(
            "reelforge_upstream_resubmissions",
            "Jobs submitted again because the upstream lost them (404 after its restart).",
            ["upstream"],
            registry=self.registry,
        )

    def observe_slot(self, slot: UpstreamSlot) -> None:
        self.in_flight.labels(slot.name).set(slot.in_flight)
        self.healthy.labels(slot.name).set(1 if slot.healthy else 0)

    def request(self, upstream: str, operation: str, outcome: str, seconds: float) -> None:
        self.requests.labels(upstream, operation, outcome).inc()
        self.latency.labels(upstream, operation).observe(seconds)
