"""The same limits through two ``reelforge serve`` processes on one PostgreSQL database.

20 creates sent at once, alternating between the two servers and the two API surfaces,
against a limit worth 5 jobs: exactly 5 are admitted and 15 refused with 429, whichever limit
it is (the queue cap, the daily video budget, the request rate). The servers run without
workers, so admitted jobs stay queued and count against the limit.
"""

from __future__ import annotations

import socket
import subprocess
import sys
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest

from reelforge.core.runtime import Runtime
from tests.support.settings import fast_settings, subprocess_env
from tests.support.wait import wait_for

pytestmark = pytest.mark.postgres

CREATES = 20


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Replica:
    def __init__(self, env: dict[str, str], log: Path) -> None:
        self.base = f"http://127.0.0.1:{_free_port()}"
        self.log = log
        port = self.base.rsplit(":", 1)[1]
        self.process = subprocess.Popen(
            [sys.executable, "-m", "reelforge.cli", "serve", "--no-workers", "--port", port],
            env=env,
            stdout=log.open("ab"),
            stderr=subprocess.STDOUT,
        )

    def ready(self) -> bool:
        assert self.process.poll() is None, self.log.read_text()
        try:
            return httpx.get(self.base + "/healthz", timeout=1).status_code == 200
        except httpx.TransportError:
            return False

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(10)


@pytest.fixture
def cluster(pg_schema_url: str, tmp_path: Path) -> Iterator[tuple[Runtime, list[Replica]]]:
    settings = fast_settings(tmp_path / "data", database_url=pg_schema_url)
    runtime = Runtime.open(settings)  # migrates first, so the two servers start together
    env = subprocess_env(settings)
    replicas = [Replica(env, tmp_path / f"serve-{n}.log") for n in range(2)]
    try:
        for replica in replicas:
            wait_for(replica.ready, timeout=60, interval=0.1)
        yield runtime, replicas
    finally:
        for replica in replicas:
            replica.stop()
        runtime.close()


def _create(replica: Replica, token: str, n: int) -> int:
    headers = {"Authorization": f"Bearer {token}"}
    body: dict[str, Any] = {"prompt": f"a lighthouse, take {n}", "seconds": "4"}
    path = "/v1/videos" if n % 4 < 2 else "/vendors/openai/v1/sora/generation"
    response = httpx.post(replica.base + path, json=body, headers=headers, timeout=60)
    assert response.status_code in (200, 202, 429), response.text
    if response.status_code == 429:
        assert int(response.headers["retry-after"]) >= 1
    return response.status_code


@pytest.mark.parametrize(
    "limits",
    [
        pytest.param({"max_queued": 5}, id="max_queued"),
        pytest.param({"daily_video_seconds": 20}, id="daily_video_seconds"),
        pytest.param({"rpm": 5}, id="rpm"),
    ],
)
def test_parallel_creates_through_two_servers_admit_exactly_the_limit(
    cluster: tuple[Runtime, list[Replica]], limits: dict[str, int]
) -> None:
    runtime, replicas = cluster
    key = runtime.keys.create("shared budget", limits)
    with ThreadPoolExecutor(max_workers=CREATES) as pool:
        codes = list(
            pool.map(
                lambda n: _create(replicas[n % 2], key.token, n),
                range(CREATES),
            )
        )
    admitted = [code for code in codes if code != 429]
    assert len(admitted) == 5, codes
    assert len(runtime.store.list_jobs(key.key.id, limit=100)) == 5
