"""Prometheus metrics: one registry per app, no import-time globals.

Counters count what this process did (admissions, refusals); job and queue gauges are read from
the database at scrape time, so every replica reports the same truthful numbers.
"""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client import CollectorRegistry, Counter, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from reelforge.store.jobs import JobStore

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


class Metrics:
    def __init__(self, store: JobStore) -> None:
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
        self.registry.register(_JobCollector(store))

    def job_created(self, kind: str) -> None:
        self.jobs_created.labels(kind=kind).inc()

    def refused(self, what: str, category: str) -> None:
        self.refusals.labels(input=what, category=category).inc()

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


def _jobs_family() -> GaugeMetricFamily:
    return GaugeMetricFamily("reelforge_jobs", "Jobs in the store by status.", labels=["status"])
