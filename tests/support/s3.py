"""A real S3 protocol server on loopback for tests and benchmarks: moto's server mode, run as a
subprocess (its own process: its CPU time does not slow the test's threads, and it can be
stopped and started again like a real store).

``S3Server`` runs one; ``S3Bucket`` is a fresh bucket on it with the settings overrides that
point ReelForge at it (credentials go through settings, never the test process's environment).
The ``s3_server`` (one per test process) and ``s3_bucket`` fixtures in ``tests/conftest.py``
wrap them.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import uuid
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any

import httpx

from tests.support.wait import wait_for

ACCESS_KEY = "reelforge-test"
SECRET_KEY = "reelforge-test-secret"
REGION = "us-east-1"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class S3Server:
    """``moto_server`` on 127.0.0.1. ``auth=True`` makes it check credentials (unknown access
    keys are refused with 403), as a real store does."""

    def __init__(self, port: int | None = None, *, auth: bool = False) -> None:
        self.port = port or free_port()
        self.endpoint = f"http://127.0.0.1:{self.port}"
        self.auth = auth
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> S3Server:
        env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
        if self.auth:
            env["INITIAL_NO_AUTH_ACTION_COUNT"] = "0"
        command = [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(self.port)]
        self.process = subprocess.Popen(
            command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        wait_for(self._ready, timeout=60, interval=0.05)
        return self

    def _ready(self) -> bool:
        if self.process is not None and self.process.poll() is not None:
            raise RuntimeError(f"moto_server exited with {self.process.returncode}")
        try:
            return httpx.get(f"{self.endpoint}/moto-api/", timeout=1).status_code == 200
        except httpx.TransportError:
            return False

    def stop(self) -> None:
        """Stop the server (its buckets are in memory: they go with it)."""
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None

    def __enter__(self) -> S3Server:
        return self.start()

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def client(self) -> Any:
        import boto3

        return boto3.session.Session().client(
            "s3",
            endpoint_url=self.endpoint,
            region_name=REGION,
            aws_access_key_id=ACCESS_KEY,
            aws_secret_access_key=SECRET_KEY,
        )

    def bucket(self, prefix: str = "media") -> S3Bucket:
        """A new, empty bucket with a unique name."""
        name = f"rf-{uuid.uuid4().hex[:16]}"
        self.client().create_bucket(Bucket=name)
        return S3Bucket(self, name, prefix)


@dataclass
class S3Bucket:
    server: S3Server
    name: str
    prefix: str = "media"
    client: Any = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.client = self.server.client()

    @property
    def endpoint(self) -> str:
        return self.server.endpoint

    @property
    def url(self) -> str:
        return f"s3://{self.name}/{self.prefix}" if self.prefix else f"s3://{self.name}"

    def settings(self, **overrides: Any) -> dict[str, Any]:
        """Settings overrides that put ReelForge's media in this bucket."""
        values: dict[str, Any] = {
            "blob_url": self.url,
            "s3_endpoint_url": self.endpoint,
            "s3_region": REGION,
            "s3_access_key_id": ACCESS_KEY,
            "s3_secret_access_key": SECRET_KEY,
            "s3_addressing_style": "path",
        }
        values.update(overrides)
        return values

    def env(self, **overrides: Any) -> dict[str, str]:
        """The same settings as ``REELFORGE_*`` variables, for a ``reelforge`` subprocess."""
        return {f"REELFORGE_{k.upper()}": str(v) for k, v in self.settings(**overrides).items()}

    def object_keys(self) -> list[str]:
        """Every object key in the bucket (full keys, prefix included)."""
        paginator = self.client.get_paginator("list_objects_v2")
        return [
            item["Key"]
            for page in paginator.paginate(Bucket=self.name)
            for item in page.get("Contents", ())
        ]
