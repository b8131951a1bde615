"""Watching jobs: 100 clients polling ``GET /v1/videos/{id}`` every second vs 100 event
streams (``GET /v1/videos/{id}/events``), against the same server process in the same run.

    .venv/bin/python bench/bench_streams.py [--clients 100] [--seconds 60] [--rounds 2]

One ReelForge server (uvicorn, API only: no workers) runs in a subprocess on SQLite (or the
``--database-url`` given). This process plays the workers: it claims one job per client and
writes each job's progress once a second through the real queue (as a worker's heartbeat
does), so every watched job is running and changing for the whole measurement. Each phase
measures the server process's CPU time (utime + stime from /proc) over ``--seconds``, after a
warm-up, and reports CPU seconds per minute and what the clients received. Phases: idle (no
clients: the baseline), polling, streams; rounds alternate polling and streams.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
import uvicorn

from reelforge.api.app import create_app
from reelforge.core.config import Settings
from reelforge.core.runtime import Runtime
from reelforge.domain.jobs import Lease
from reelforge.domain.specs import GenerationSpec

WARM_UP_SECONDS = 5.0
ERRORS: dict[str, int] = {}
PROMPT = "Wide shot of a child flying a red kite in a grassy park, golden hour sunlight"


def serve(data_dir: Path, database_url: str | None, port: int) -> None:
    settings = Settings(data_dir=data_dir, database_url=database_url, embedded_workers=False)
    app = create_app(settings)
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)


def cpu_seconds(pid: int) -> float:
    """utime + stime of a process (all its threads), from /proc/<pid>/stat."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class ProgressWriter:
    """Claims the jobs and moves their progress once a second, like workers' heartbeats."""

    def __init__(self, runtime: Runtime, count: int) -> None:
        self._queue = runtime.queue
        self._leases: list[Lease] = []
        for _ in range(count):
            lease = self._queue.claim("bench-writer", lease_seconds=3600)
            assert lease is not None, "fewer queued jobs than clients"
            self._leases.append(lease)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._started = time.monotonic()

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        while not self._stop.wait(1.0):
            # 0.5% a second: a 200 s job, so no job finishes during a phase.
            progress = min((time.monotonic() - self._started) / 200, 0.99)
            for lease in self._leases:
                self._queue.record_progress(lease, progress, "generating")


@dataclass
class Phase:
    name: str
    cpu: float
    seconds: float
    received: int

    def row(self, baseline: Phase | None) -> str:
        per_minute = self.cpu / self.seconds * 60
        over = f"{(self.cpu - baseline.cpu) / self.seconds * 60:8.2f}" if baseline else "    -   "
        return f"{self.name:<10} {per_minute:10.2f} {over} {self.received / self.seconds:12.1f}"


async def poll(client: httpx.AsyncClient, ids: list[str], stop: asyncio.Event) -> int:
    async def one(video_id: str) -> int:
        count = 0
        while not stop.is_set():
            began = time.monotonic()
            try:
                response = await client.get(f"/v1/videos/{video_id}")
            except httpx.RemoteProtocolError:
                # The server closed a keep-alive connection as it was reused: retry, as
                # real polling clients do.
                ERRORS["polling"] = ERRORS.get("polling", 0) + 1
                continue
            response.raise_for_status()
            count += 1
            await asyncio.sleep(max(0.0, 1.0 - (time.monotonic() - began)))
        return count

    return sum(await asyncio.gather(*(one(i) for i in ids)))


async def stream(client: httpx.AsyncClient, ids: list[str], stop: asyncio.Event) -> int:
    async def one(video_id: str) -> int:
        count = 0
        async with client.stream("GET", f"/v1/videos/{video_id}/events") as response:
            response.raise_for_status()
            async for line in response.aiter_lines():
                count += line.startswith("event:")
                if stop.is_set():
                    break
        return count

    return sum(await asyncio.gather(*(one(i) for i in ids)))


async def phase(
    name: str, base: str, token: str, ids: list[str], pid: int, seconds: float
) -> Phase:
    limits = httpx.Limits(max_connections=len(ids) + 10, max_keepalive_connections=len(ids) + 10)
    headers = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(
        base_url=base, headers=headers, limits=limits, timeout=60
    ) as client:
        stop = asyncio.Event()
        clients = {"polling": poll, "streams": stream}.get(name)
        task = asyncio.create_task(clients(client, ids, stop)) if clients else None
        await asyncio.sleep(WARM_UP_SECONDS)
        cpu_before, began = cpu_seconds(pid), time.monotonic()
        await asyncio.sleep(seconds)
        cpu, elapsed = cpu_seconds(pid) - cpu_before, time.monotonic() - began
        stop.set()
        received = await task if task else 0
    # Counted over the whole phase (warm-up included): scaled to the measured window.
    return Phase(name, cpu, elapsed, int(received * elapsed / (elapsed + WARM_UP_SECONDS)))


def start_server(data_dir: Path, database_url: str | None) -> tuple[subprocess.Popen[bytes], str]:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = int(sock.getsockname()[1])
    args = [sys.executable, __file__, "--serve", str(data_dir), str(port)]
    if database_url:
        args += ["--database-url", database_url]
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parent.parent / "src")}
    process = subprocess.Popen(args, env=env)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(base + "/healthz", timeout=1).status_code == 200:
                return process, base
        except httpx.TransportError:
            time.sleep(0.1)
    process.kill()
    raise RuntimeError("the server did not start")


def run(clients: int, seconds: float, rounds: int, database_url: str | None) -> None:
    with tempfile.TemporaryDirectory(prefix="reelforge-sse-bench-") as tmp:
        data_dir = Path(tmp) / "data"
        runtime = Runtime.open(Settings(data_dir=data_dir, database_url=database_url))
        created = runtime.keys.create("bench")
        token, owner = created.token, created.key.id
        jobs = [
            runtime.database.enqueue(GenerationSpec.build(PROMPT, seconds=4), owner)
            for _ in range(clients)
        ]
        ids = ["video_" + job.id.replace("-", "") for job in jobs]
        writer = ProgressWriter(runtime, clients)
        process, base = start_server(data_dir, database_url)
        writer.start()
        phases: list[Phase] = []
        try:
            phases.append(asyncio.run(phase("idle", base, token, ids, process.pid, seconds)))
            for index in range(rounds):
                order = ["polling", "streams"] if index % 2 == 0 else ["streams", "polling"]
                for name in order:
                    phases.append(asyncio.run(phase(name, base, token, ids, process.pid, seconds)))
        finally:
            writer.stop()
            process.terminate()
            process.wait(timeout=30)
            runtime.close()
    report(phases, clients, database_url)


def report(phases: list[Phase], clients: int, database_url: str | None) -> None:
    idle = phases[0]
    print(f"clients: {clients}, database: {database_url or 'sqlite'}, cpus: {os.cpu_count()}")
    print(f"{'phase':<10} {'CPU s/min':>10} {'over idle':>8} {'received/s':>12}")
    for measured in phases:
        print(measured.row(None if measured is idle else idle))
    polling = [p for p in phases if p.name == "polling"]
    streams = [p for p in phases if p.name == "streams"]
    for poll_phase, stream_phase in zip(polling, streams, strict=True):
        ratio = poll_phase.cpu / poll_phase.seconds / (stream_phase.cpu / stream_phase.seconds)
        print(f"polling / streams CPU ratio: {ratio:.2f}")
    if ERRORS:
        print(f"connections closed by the server as they were reused (retried): {ERRORS}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=100)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--serve", nargs=2, metavar=("DATA_DIR", "PORT"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(Path(args.serve[0]), args.database_url, int(args.serve[1]))
        return
    run(args.clients, args.seconds, args.rounds, args.database_url)


if __name__ == "__main__":
    main()
