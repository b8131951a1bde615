"""A worker process's own metrics endpoint, for what only it knows (its engine's figures).

Queue and job figures come from the database through the API's ``/metrics``; an engine that
talks to other servers (upstream) counts its requests in its own registry, which lives in the
worker process, possibly on another host: so the worker serves it on ``worker_metrics_port``.
"""

from __future__ import annotations

import logging

from prometheus_client import CollectorRegistry, start_http_server

from reelforge.engines.base import Engine

log = logging.getLogger(__name__)


def serve_engine_metrics(engine: Engine, port: int | None) -> bool:
    """Start serving the engine's registry on ``port``; False when there is nothing to do."""
    registry = getattr(getattr(engine, "metrics", None), "registry", None)
    if port is None or not isinstance(registry, CollectorRegistry):
        return False
    try:
        start_http_server(port, registry=registry)
    except OSError as exc:
        log.error("worker metrics cannot be served on port %d: %s", port, exc)
        return False
    log.info("worker metrics on port %d (/metrics)", port)
    return True
