"""Optional OpenTelemetry tracing of HTTP requests (the ``otel`` extra).

Off unless ``REELFORGE_OTEL=1`` or ``OTEL_EXPORTER_OTLP_ENDPOINT`` is set. Then, when the
packages are installed, FastAPI is instrumented: one span per request, exported over OTLP/HTTP
to wherever the standard ``OTEL_*`` variables say (a tracer provider set up already, e.g. by
``opentelemetry-instrument``, is used as it is). Without the packages the server starts anyway
and says once what to install.
"""

from __future__ import annotations

import logging
import os
from typing import Any

from fastapi import FastAPI

from reelforge.core.config import Settings

log = logging.getLogger(__name__)
UNTRACED_PATHS = "healthz,readyz,metrics"
"""Probes and scrapes: frequent, and nothing to learn from their spans."""


def tracing_wanted(settings: Settings) -> bool:
    return settings.otel or bool(os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT"))


def install_tracing(app: FastAPI, settings: Settings, provider: Any = None) -> bool:
    """Instrument ``app`` when tracing is wanted and possible; True when it was.
    ``provider``: the tracer provider to use (tests pass one with an in-memory exporter)."""
    if not tracing_wanted(settings):
        return False
    try:
        from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor
    except ImportError as exc:
        log.warning(
            "tracing is on (REELFORGE_OTEL or OTEL_EXPORTER_OTLP_ENDPOINT) but OpenTelemetry "
            "is not installed (%s); install it with `pip install 'reelforge[otel]'`",
            exc,
        )
        return False
    FastAPIInstrumentor.instrument_app(
        app, tracer_provider=provider or _global_provider(), excluded_urls=UNTRACED_PATHS
    )
    log.info("OpenTelemetry tracing of HTTP requests is on")
    return True


def _global_provider() -> Any:
    """The process's tracer provider: the one configured already, else an SDK provider that
    exports over OTLP/HTTP (endpoint, headers and service name from the OTEL_* variables)."""
    from opentelemetry import trace
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    current = trace.get_tracer_provider()
    if isinstance(current, TracerProvider):
        return current
    named = {} if os.environ.get("OTEL_SERVICE_NAME") else {"service.name": "reelforge"}
    provider = TracerProvider(resource=Resource.create(named))
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    trace.set_tracer_provider(provider)
    return provider
