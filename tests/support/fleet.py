"""A fleet that shares nothing but PostgreSQL and S3: one ``reelforge serve --no-workers`` and
``reelforge worker`` processes, each with its own data directory, on one database schema and
one bucket. ``hosts`` places them: on loopback, or each in its own network namespace
(``tests/support/netns.py``), where they reach the database and the store only at the
addresses given here.

The test process keeps its own runtime (``observer``, with a data directory of its own) to
create the API key and to read jobs, attempts and objects as they are stored.
"""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path
from typing import Protocol
from urllib.parse import urlsplit

import httpx
from sqlalchemy.engine import make_url

from reelforge.core.config import Settings
from reelforge.core.runtime import Runtime
from tests.support.s3 import S3Bucket, free_port
from tests.support.settings import subprocess_env
from tests.support.wait import wait_for

API = "api"


class Hosts(Protocol):
    def address(self, role: str) -> str: ...
    def reach(self, host: str, port: int) -> tuple[str, int]: ...
    def command(self, role: str, argv: list[str]) -> list[str]: ...


class Fleet:
    def __init__(self, settings: Settings, bucket: S3Bucket, hosts: Hosts, root: Path) -> None:
        self.settings = settings
        self.bucket = bucket
        self.hosts = hosts
        self.root = root
        self.observer = Runtime.open(settings)  # migrates before any role starts
        self.token = self.observer.keys.create("fleet").token
        self.database_url = self._reached_database_url()
        self.s3_endpoint = self._reached_endpoint()
        self.processes: dict[str, subprocess.Popen[bytes]] = {}
        port = free_port() if hosts.address(API) == "127.0.0.1" else 8000
        self.base_url = f"http://{hosts.address(API)}:{port}"

    def _reached_database_url(self) -> str:
        url = make_url(self.settings.resolved_database_url)
        host, port = self.hosts.reach(url.host or "127.0.0.1", url.port or 5432)
        return url.set(host=host, port=port).render_as_string(hide_password=False)

    def _reached_endpoint(self) -> str:
        parts = urlsplit(self.bucket.endpoint)
        host, port = self.hosts.reach(parts.hostname or "127.0.0.1", parts.port or 80)
        return f"{parts.scheme}://{host}:{port}"

    def data_dir(self, role: str) -> Path:
        return self.root / role

    def log(self, role: str) -> Path:
        return self.root / f"{role}.log"

    def env(self, role: str) -> dict[str, str]:
        """The role's settings: its own data directory, the shared database and bucket at the
        addresses its host reaches them by."""
        own = self.settings.model_copy(
            update={"data_dir": self.data_dir(role), "database_url": self.database_url}
        )
        return subprocess_env(
            own,
            **self.bucket.env(s3_endpoint_url=self.s3_endpoint),
            REELFORGE_WORKER_ID=role,
            REELFORGE_MAX_ATTEMPTS=str(self.settings.max_attempts),
            REELFORGE_SHUTDOWN_GRACE_SECONDS="2",
        )

    def start(self, role: str, *args: str) -> subprocess.Popen[bytes]:
        argv = [sys.executable, "-m", "reelforge.cli", *args]
        process = subprocess.Popen(
            self.hosts.command(role, argv),
            env=self.env(role),
            stdout=self.log(role).open("ab"),
            stderr=subprocess.STDOUT,
        )
        self.processes[role] = process
        return process

    def start_api(self) -> None:
        port = self.base_url.rsplit(":", 1)[1]
        host = self.hosts.address(API)
        self.start(API, "serve", "--no-workers", "--host", host, "--port", port)

    def wait_api_ready(self) -> None:
        wait_for(self._api_ready, timeout=90, interval=0.1)

    def _api_ready(self) -> bool:
        process = self.processes[API]
        assert process.poll() is None, self.log(API).read_text()
        try:
            return httpx.get(self.base_url + "/readyz", timeout=1).status_code == 200
        except httpx.TransportError:
            return False

    def start_worker(self, role: str) -> subprocess.Popen[bytes]:
        return self.start(role, "worker")

    def kill(self, role: str) -> None:
        """SIGKILL: no cleanup, its lease is left to expire and be swept by another worker."""
        process = self.processes[role]
        process.kill()
        process.wait(10)

    def close(self) -> None:
        for process in self.processes.values():
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in self.processes.values():
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(10)
        self.observer.close()

    def pids(self) -> list[int]:
        """The processes still running."""
        return [process.pid for process in self.processes.values() if process.poll() is None]

    def files(self, role: str) -> list[Path]:
        """Every file under the role's data directory."""
        return sorted(path for path in self.data_dir(role).rglob("*") if path.is_file())
