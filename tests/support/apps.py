"""The app in-process: ``create_app`` driven through Starlette's TestClient, no socket.

``running_app`` builds the same app as ``tests/support/live.py`` (testcard engine, in-process
workers, the fast ``api_settings``, two API keys, the loopback image server that the URL fetcher
may reach) and enters one TestClient, which runs the lifespan: workers and the retention sweeper
start with it and stop when it exits. ``InProcessApp`` has the interface the API tests use from
``LiveServer``; its clients share the running app, so opening one never restarts the lifespan.
Tests that need a real socket (curl; the openai SDK and schemathesis suites, kept live on
purpose) use ``live_server`` instead.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack, contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

import httpx2
from fastapi import FastAPI
from starlette.testclient import TestClient

from reelforge.api.app import create_app
from reelforge.api.auth import KeyVerifier
from reelforge.api.context import ApiContext
from reelforge.core.runtime import Runtime
from reelforge.domain.errors import JobFinished
from reelforge.domain.jobs import Status
from reelforge.net.fetch import ImageFetcher
from reelforge.store.jobs import Clock
from reelforge.store.types import utcnow
from tests.support.clock import FakeMonotonic
from tests.support.image_cases import ImageServer
from tests.support.live import ServedApp, api_settings, tenants

BASE_URL = "http://testserver"


class AppClient(TestClient):
    """A client of an app whose lifespan another TestClient is running.

    It shares that client's event loop (its portal) but has its own transport, so closing it
    aborts only its own requests; entering it does not run the lifespan again. Like
    ``httpx.Client`` (and unlike a plain TestClient) it does not follow redirects."""

    def __init__(self, host: TestClient, headers: dict[str, str]) -> None:
        super().__init__(host.app, base_url=BASE_URL, headers=headers, follow_redirects=False)
        self.portal = host.portal
        self.app_state.update(host.app_state)

    def __enter__(self) -> AppClient:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None = None,
        exc: BaseException | None = None,
        tb: TracebackType | None = None,
    ) -> None:
        self.close()


@dataclass(kw_only=True)
class InProcessApp(ServedApp):
    app: FastAPI
    host: TestClient
    base_url: str = BASE_URL

    @property
    def context(self) -> ApiContext:
        """The routes' live objects; exists while the lifespan runs."""
        context: ApiContext = self.app.state.context
        return context

    def client(self, token: str | None = None) -> httpx2.Client:
        """A client that sends ``Authorization: Bearer <token>`` (the first key by default)."""
        return self.anonymous({"Authorization": f"Bearer {token or self.token}"})

    def anonymous(self, headers: dict[str, str] | None = None) -> httpx2.Client:
        """A client that sends only ``headers``: no key unless they hold one."""
        return AppClient(self.host, headers or {})

    @contextmanager
    def auth_clock(self) -> Iterator[FakeMonotonic]:
        """Verify keys with a fresh cache on a clock the test moves; the real one afterwards."""
        context = self.context
        real = context.verifier
        clock = FakeMonotonic()
        context.verifier = KeyVerifier(self.runtime.keys, ttl=real.ttl, clock=clock)
        try:
            yield clock
        finally:
            context.verifier = real

    def cancel_unfinished(self) -> None:
        """Cancel queued and running jobs so the workers stop at once instead of after the
        shutdown grace (the jobs are of no interest once the module's tests are done)."""
        for job in self.runtime.store.list_jobs(None, limit=10_000):
            if job.status in (Status.QUEUED, Status.RUNNING):
                with suppress(JobFinished):  # it finished since it was listed
                    self.runtime.store.request_cancel(job.id)


@contextmanager
def running_app(
    data_dir: Path,
    fetcher: ImageFetcher | None = None,
    clock: Clock = utcnow,
    **overrides: Any,
) -> Iterator[InProcessApp]:
    """The app with its lifespan running (workers included), on ``api_settings``; ``clock``
    stamps rows and drives estimates (a ``FakeClock`` makes them exact)."""
    settings = api_settings(data_dir, **overrides)
    runtime = Runtime.open(settings, clock=clock)
    try:
        with ImageServer() as images, ExitStack() as owned:
            if fetcher is None:
                fetcher = ImageFetcher(allow_hosts=frozenset({images.authority}))
                owned.callback(fetcher.close)
            app = create_app(settings, runtime, image_fetcher=fetcher)
            with TestClient(app, base_url=BASE_URL) as host:
                harness = InProcessApp(app=app, host=host, **tenants(settings, runtime, images))
                try:
                    yield harness
                finally:
                    harness.cancel_unfinished()
    finally:
        runtime.close()
