"""A real ReelForge server on loopback (uvicorn in a thread) with the testcard engine.

The app owns in-process workers (4-second testcard jobs, short
polls), the shared loopback image server (``tests/support/image_cases.py``) that the URL fetcher is
allowed to reach, and two API keys so tenant isolation can be tested.

Most API tests run the same app in-process instead (``tests/support/apps.py``); this server is
for clients that need a real socket: curl, the openai SDK's own transport, schemathesis.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import uvicorn

from reelforge.api.app import create_app
from reelforge.core.config import Settings
from reelforge.core.runtime import Runtime
from reelforge.net.fetch import ImageFetcher
from reelforge.store.jobs import Clock
from reelforge.store.keys import KeyStore
from reelforge.store.types import utcnow
from tests.support.image_cases import ImageServer
from tests.support.settings import fast_settings
from tests.support.wait import wait_for


@dataclass(kw_only=True)
class ServedApp:
    """What API tests see of a running app, live (``LiveServer``) or in-process
    (``tests.support.apps.InProcessApp``): settings, runtime, two tenants' keys, the image
    server, and counts of what is stored."""

    settings: Settings
    runtime: Runtime
    token: str
    other_token: str
    key_id: str
    images: ImageServer
    keys: KeyStore

    def job_count(self) -> int:
        return sum(self.runtime.store.count_by_status().values())

    def blob_count(self) -> int:
        root = self.settings.resolved_media_dir  # the root of the runtime's LocalBlobStore
        return sum(1 for p in root.rglob("*") if p.is_file()) if root.exists() else 0


@dataclass(kw_only=True)
class LiveServer(ServedApp):
    base_url: str
    app: Any = None

    def client(self, token: str | None = None) -> httpx.Client:
        headers = {"Authorization": f"Bearer {token or self.token}"}
        return httpx.Client(base_url=self.base_url, headers=headers, timeout=30)


def api_settings(data_dir: Path, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "engine": "testcard",
        "poll_after_ms": 100,
        "retention_sweep_seconds": 3600.0,
    }
    values.update(overrides)
    return fast_settings(data_dir, **values)


def start_server(
    settings: Settings, runtime: Runtime, fetcher: ImageFetcher
) -> tuple[uvicorn.Server, threading.Thread, str, Any]:
    app = create_app(settings, runtime, image_fetcher=fetcher)
    server, thread, base_url = serve_in_thread(app)
    return server, thread, base_url, app


def serve_in_thread(app: Any) -> tuple[uvicorn.Server, threading.Thread, str]:
    """Serve an ASGI app with uvicorn on a free loopback port, in a daemon thread; stop it
    with ``server.should_exit = True`` and ``thread.join()``."""
    # IPPROTO_TCP explicitly: asyncio sets TCP_NODELAY only on sockets whose proto says TCP, and
    # without it every response waits ~40 ms for a delayed ACK (Nagle).
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(app, log_level="warning", lifespan="on")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()

    def started_or_died() -> bool:
        if not thread.is_alive():
            raise RuntimeError("the test server died while starting")
        return bool(server.started)

    wait_for(started_or_died, timeout=60, interval=0.02)
    return server, thread, f"http://127.0.0.1:{port}"


def tenants(settings: Settings, runtime: Runtime, images: ImageServer) -> dict[str, Any]:
    """The ``ServedApp`` fields of an app, with two new API keys (two tenants)."""
    first, second = runtime.keys.create("tests"), runtime.keys.create("other tenant")
    return {
        "settings": settings,
        "runtime": runtime,
        "token": first.token,
        "other_token": second.token,
        "key_id": first.key.id,
        "images": images,
        "keys": runtime.keys,
    }


@contextmanager
def running_server(
    data_dir: Path, fetcher: ImageFetcher | None = None, clock: Clock = utcnow, **overrides: Any
) -> Iterator[LiveServer]:
    settings = api_settings(data_dir, **overrides)
    runtime = Runtime.open(settings, clock=clock)
    images = ImageServer().__enter__()
    fetcher = fetcher or ImageFetcher(allow_hosts=frozenset({images.authority}))
    server, thread, base_url, app = start_server(settings, runtime, fetcher)
    try:
        yield LiveServer(
            base_url=base_url,
            app=app,
            **tenants(settings, runtime, images),
        )
    finally:
        server.should_exit = True
        thread.join(timeout=60)
        images.__exit__(None, None, None)
        runtime.close()
