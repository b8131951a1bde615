"""Prometheus metrics: one registry per app, no import-time globals.

Counters count what this process did (admissions, refusals); job and queue gauges, and the usage
counters (from the usage ledger), are read from the database at scrape time, so every replica
reports the same truthful numbers.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.metrics_core import Metric
from prometheus_client.registry import Collector

from reelforge.services.estimates import QueueEstimator
from reelforge.store.jobs import JobStore
from reelforge.store.usage import UsageLedger

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


class Metrics:
    def __init__(
        self,
        store: JobStore,
        estimator: QueueEstimator | None = None,
        usage: UsageLedger | None = None,
    ) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.jobs_created = Counter(
            "reelforge_jobs_created",
            "Jobs accepted into the queue: new videos and remixes.",
            ["kind"],
            registry=self.registry,
        )
        self.refusals = Counter(
            "reelforge_policy_refusals",
            "Requests refused by the content policy, by checked input and category.",
            ["input", "category"],
            registry=self.registry,
        )
        self.quota_refusals = Counter(
            "reelforge_quota_refusals",
            "Creates refused by a key's limits, by limit (rpm, max_queued, daily_video_seconds, "
            "..., model_not_allowed).",
            ["limit"],
            registry=self.registry,
        )
        self.webhook_deliveries = Counter(
            "reelforge_webhook_deliveries",
            "Webhook delivery attempts this process made, by outcome: delivered, retrying "
            "(failed, will retry) or failed (gave up).",
            ["outcome"],
            registry=self.registry,
        )
        self.http_latency = Histogram(
            "reelforge_http_request_duration_seconds",
            "Seconds from a request's arrival to its response's headers, by route template, "
            "method and status class (2xx, 4xx, ...); a streamed body's time is not counted.",
            ["route", "method", "status"],
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
            registry=self.registry,
        )
        self.registry.register(_JobCollector(store))
        if estimator is not None:
            self.registry.register(_EstimateCollector(estimator))
        if usage is not None:
            self.registry.register(_UsageCollector(usage))

    def track_reclaimed(self, total: Callable[[], int]) -> None:
        """Report ``total()`` (the embedded workers' count) as the bytes of dead attempts'
        render directories removed."""
        self.registry.register(_ReclaimedCollector(total))

    def include(self, registry: CollectorRegistry) -> None:
        """Also report ``registry``'s metrics (the embedded workers' job histograms)."""
        self.registry.register(_Included(registry))

    def http_request(self, route: str, method: str, status: int, seconds: float) -> None:
        status_class = f"{status // 100}xx" if 100 <= status < 600 else "other"
        self.http_latency.labels(route=route, method=method, status=status_class).observe(seconds)

    def job_created(self, kind: str) -> None:
        self.jobs_created.labels(kind=kind).inc()

    def refused(self, what: str, category: str) -> None:
        self.refusals.labels(input=what, category=category).inc()

    def quota_refused(self, limit: str) -> None:
        self.quota_refusals.labels(limit=limit).inc()

    def webhook_attempt(self, outcome: str) -> None:
        self.webhook_deliveries.labels(outcome=outcome).inc()

    def render(self) -> bytes:
        return generate_latest(self.registry)


class _JobCollector(Collector):
    """Jobs by status and queue depth, read from the store on each scrape."""

    def __init__(self, store: JobStore) -> None:
        self._store = store

    def collect(self) -> Iterator[GaugeMetricFamily]:
        jobs = _jobs_family()
        for status, count in self._store.count_by_status().items():
            jobs.add_metric([status.value], count)
        yield jobs

    def describe(self) -> Iterator[GaugeMetricFamily]:
        yield _jobs_family()


class _Included(Collector):
    def __init__(self, registry: CollectorRegistry) -> None:
        self._registry = registry

    def collect(self) -> Iterator[Metric]:
        yield from self._registry.collect()


class _ReclaimedCollector(Collector):
    def __init__(self, total: Callable[[], int]) -> None:
        self._total = total

    def collect(self) -> Iterator[CounterMetricFamily]:
        family = _reclaimed_family()
        family.add_metric([], self._total())
        yield family

    def describe(self) -> Iterator[CounterMetricFamily]:
        yield _reclaimed_family()


def _reclaimed_family() -> CounterMetricFamily:
    return CounterMetricFamily(
        "reelforge_tmp_reclaimed_bytes",
        "Bytes of render directories left by dead attempts (a killed worker) that this "
        "process's embedded workers removed.",
    )


def _jobs_family() -> GaugeMetricFamily:
    return GaugeMetricFamily("reelforge_jobs", "Jobs in the store by status.", labels=["status"])


class _EstimateCollector(Collector):
    """Measured throughput per engine and model, and the wait a job enqueued now would have
    (absent until something has been measured), computed on each scrape."""

    def __init__(self, estimator: QueueEstimator) -> None:
        self._estimator = estimator

    def collect(self) -> Iterator[GaugeMetricFamily]:
        throughput, wait = _estimate_families()
        for (engine, model), per_second in sorted(self._estimator.throughput().items(), key=str):
            throughput.add_metric([engine or "unknown", model], per_second)
        seconds = self._estimator.wait_for_new_job()
        if seconds is not None:
            wait.add_metric([], seconds)
        yield throughput
        yield wait

    def describe(self) -> Iterator[GaugeMetricFamily]:
        yield from _estimate_families()


def _estimate_families() -> tuple[GaugeMetricFamily, GaugeMetricFamily]:
    return (
        GaugeMetricFamily(
            "reelforge_compute_seconds_per_video_second",
            "Median compute seconds per second of video of recent completed jobs.",
            labels=["engine", "model"],
        ),
        GaugeMetricFamily(
            "reelforge_queue_wait_estimate_seconds",
            "Estimated seconds a job enqueued now would wait before it starts.",
        ),
    )


class _UsageCollector(Collector):
    """All-time usage per key (by name; ``local`` for command-line jobs) and model, from the
    usage ledger in one grouped query per scrape."""

    def __init__(self, usage: UsageLedger) -> None:
        self._usage = usage

    def collect(self) -> Iterator[CounterMetricFamily]:
        video, compute, jobs = _usage_families()
        for total in self._usage.totals():
            labels = [total.key, total.model]
            video.add_metric(labels, total.video_seconds_delivered)
            compute.add_metric(labels, total.compute_seconds)
            for outcome in ("completed", "failed", "cancelled"):
                jobs.add_metric([*labels, outcome], getattr(total, outcome))
        yield video
        yield compute
        yield jobs

    def describe(self) -> Iterator[CounterMetricFamily]:
        yield from _usage_families()


def _usage_families() -> tuple[CounterMetricFamily, CounterMetricFamily, CounterMetricFamily]:
    return (
        CounterMetricFamily(
            "reelforge_usage_video_seconds",
            "Seconds of video delivered (completed videos), by API key name and model.",
            labels=["key", "model"],
        ),
        CounterMetricFamily(
            "reelforge_usage_compute_seconds",
            "Seconds worker slots spent on jobs (every ended attempt, failed and cancelled jobs "
            "included), by API key name and model.",
            labels=["key", "model"],
        ),
        CounterMetricFamily(
            "reelforge_usage_jobs",
            "Jobs that ended, by API key name, model and outcome (completed, failed, cancelled).",
            labels=["key", "model", "outcome"],
        ),
    )
