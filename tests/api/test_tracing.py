"""Optional OpenTelemetry tracing: off by default, a warning (not a failure) without the
packages, one span per request with them."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from reelforge.api.app import create_app
from reelforge.api.tracing import install_tracing, tracing_wanted
from reelforge.core.runtime import Runtime
from tests.support.apps import running_app
from tests.support.live import api_settings


@pytest.fixture
def runtime(tmp_path: Path) -> Iterator[Runtime]:
    opened = Runtime.open(api_settings(tmp_path / "data", embedded_workers=False))
    yield opened
    opened.close()


def test_tracing_is_off_unless_asked_for(runtime: Runtime, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OTEL_EXPORTER_OTLP_ENDPOINT", raising=False)
    settings = runtime.settings
    assert not tracing_wanted(settings)
    assert tracing_wanted(settings.model_copy(update={"otel": True}))
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:4318")
    assert tracing_wanted(settings)
    monkeypatch.delenv("OTEL_EXPORTER_OTLP_ENDPOINT")
    app = create_app(settings, runtime)
    assert not any("OpenTelemetry" in str(m.cls) for m in app.user_middleware)


def test_the_app_starts_and_serves_without_the_packages(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    # None in sys.modules makes the import fail as if the package were not installed.
    monkeypatch.setitem(sys.modules, "opentelemetry.instrumentation.fastapi", None)
    with (
        running_app(tmp_path / "data", otel=True, embedded_workers=False) as app,
        app.client() as http,
    ):
        assert http.get("/v1/videos").status_code == 200
    assert "pip install 'reelforge[otel]'" in caplog.text


def test_each_request_is_a_span_when_the_packages_are_installed(runtime: Runtime) -> None:
    pytest.importorskip("opentelemetry.instrumentation.fastapi")
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    app = create_app(runtime.settings, runtime)  # tracing off: nothing instrumented yet
    assert install_tracing(app, runtime.settings.model_copy(update={"otel": True}), provider)
    token = runtime.keys.create("traced").token
    with TestClient(app) as http:
        http.get("/healthz")
        listed = http.get("/v1/videos", headers={"Authorization": f"Bearer {token}"})
    assert listed.status_code == 200
    names = {span.name for span in exporter.get_finished_spans()}
    assert "GET /v1/videos" in names
    assert not any("healthz" in name for name in names)
