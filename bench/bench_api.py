"""API overhead benchmark: ReelForge's create and status endpoints on both surfaces against a
bare FastAPI endpoint that validates the same body and inserts the same job row.

    .venv/bin/python bench/bench_api.py [--requests 2000] [--concurrency 8]

Each server runs in its own uvicorn process on loopback with a fresh SQLite database and no
workers (this measures the API path, not generation). The load generator keeps
``--concurrency`` requests in flight and records each one's latency. Printed per endpoint:
throughput (req/s), p50 and p99 latency (ms), and the ratio of ReelForge's throughput to the
bare endpoint's (goal: >= 0.8). The ReelForge path adds what the bare one lacks: API-key
lookup, the content policy on the prompt, the idempotency fingerprint, expiry and the
surface's wire mapping.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

import httpx
import uvicorn
from fastapi import FastAPI

from reelforge.api.app import create_app
from reelforge.api.schemas.seed import SeedCreateRequest
from reelforge.core.config import Settings
from reelforge.core.runtime import Runtime
from reelforge.domain.specs import GenerationSpec

PROMPT = "Wide shot of a child flying a red kite in a grassy park, golden hour sunlight"
SEED_BODY = {"prompt": PROMPT, "model": "sora-2", "seconds": "8", "size": "1280x720"}
OPENAI_BODY = {"prompt": PROMPT, "model": "sora-2", "seconds": "4", "size": "720x1280"}


# -- the servers (run as subprocesses: `bench_api.py --serve reelforge|bare DATA_DIR PORT`) --


def serve(kind: str, data_dir: Path, port: int) -> None:
    settings = Settings(data_dir=data_dir, embedded_workers=False)
    app = create_app(settings) if kind == "reelforge" else bare_app(settings)
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)


def bare_app(settings: Settings) -> FastAPI:
    """The floor: parse + validate the same body, build the same spec, insert the same row."""
    runtime = Runtime.open(settings)
    app = FastAPI()

    @app.post("/bare", status_code=202)
    def create(body: SeedCreateRequest) -> dict[str, str]:
        spec = GenerationSpec.build(body.prompt, body.model, body.size, body.seconds)
        job = runtime.database.enqueue(spec, "bench")
        return {"id": job.id, "status": job.status.value}

    @app.get("/bare/{job_id}")
    def status(job_id: str) -> dict[str, str]:
        job = runtime.store.get_job(job_id, "bench")
        return {"id": job.id, "status": job.status.value}

    return app


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start(kind: str, data_dir: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, __file__, "--serve", kind, str(data_dir), str(port)],
        env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parent.parent / "src")},
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(base + "/openapi.json", timeout=1).status_code == 200:
                return process, base
        except httpx.TransportError:
            time.sleep(0.1)
    process.kill()
    raise RuntimeError(f"the {kind} server did not start")


def make_key(data_dir: Path) -> str:
    runtime = Runtime.open(Settings(data_dir=data_dir))
    try:
        return runtime.keys.create("bench").token
    finally:
        runtime.close()


# -- the load generator ------------------------------------------------------------------------


@dataclass
class Result:
    name: str
    seconds: float
    latencies: list[float]

    @property
    def throughput(self) -> float:
        return len(self.latencies) / self.seconds

    def percentile(self, q: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000

    def row(self, baseline: Result | None) -> str:
        ratio = f"{self.throughput / baseline.throughput:5.2f}" if baseline else "  -  "
        return (
            f"{self.name:<28} {self.throughput:8.0f} {self.percentile(0.50):8.2f} "
            f"{self.percentile(0.99):8.2f}   {ratio}"
        )


Call = Callable[[httpx.AsyncClient, int], Awaitable[httpx.Response]]


async def load(
    name: str, client: httpx.AsyncClient, call: Call, total: int, concurrency: int, expect: int
) -> Result:
    latencies: list[float] = []
    counter = iter(range(total))

    async def user() -> None:
        for index in counter:
            began = time.perf_counter()
            response = await call(client, index)
            latencies.append(time.perf_counter() - began)
            if response.status_code != expect:
                raise RuntimeError(f"{name}: HTTP {response.status_code}: {response.text[:200]}")

    began = time.perf_counter()
    await asyncio.gather(*(user() for _ in range(concurrency)))
    return Result(name, time.perf_counter() - began, latencies)


async def measure(
    kind: str, base: str, token: str, total: int, concurrency: int, flip: bool = False
) -> list[Result]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(base_url=base, headers=headers, limits=limits) as client:
        if kind == "bare":
            plan = [("bare create", "POST", "/bare", SEED_BODY, 202, "/bare/{}", "id")]
        else:
            plan = [
                (
                    "seed create",
                    "POST",
                    "/vendors/openai/v1/sora/generation",
                    SEED_BODY,
                    202,
                    "/vendors/openai/v1/sora/generation/{}",
                    "task_info.id",
                ),
                (
                    "openai create (json)",
                    "POST",
                    "/v1/videos",
                    OPENAI_BODY,
                    200,
                    "/v1/videos/{}",
                    "id",
                ),
            ]
        results = []
        for name, _method, path, body, status, status_path, id_field in plan[:: -1 if flip else 1]:
            ids: list[str] = []

            async def create(
                c: httpx.AsyncClient,
                _i: int,
                path: str = path,
                body: dict[str, str] = body,
                id_field: str = id_field,
                ids: list[str] = ids,
            ) -> httpx.Response:
                response = await c.post(path, json=body)
                value = response.json()
                for part in id_field.split("."):
                    value = value[part] if isinstance(value, dict) else value
                ids.append(str(value))
                return response

            async def status_call(
                c: httpx.AsyncClient, i: int, status_path: str = status_path, ids: list[str] = ids
            ) -> httpx.Response:
                return await c.get(status_path.format(ids[i % len(ids)]))

            await load("warm-up", client, create, min(200, total // 4), concurrency, status)
            results.append(await load(name, client, create, total, concurrency, status))
            status_name = name.replace("create", "status").replace(" (json)", "")
            results.append(await load(status_name, client, status_call, total, concurrency, 200))
        return results


def run(total: int, concurrency: int, rounds: int) -> None:
    """Both servers up at once; rounds alternate bare / ReelForge so background load on a
    shared machine hits both alike. Each endpoint reports its median round."""
    with tempfile.TemporaryDirectory(prefix="reelforge-bench-") as tmp:
        token = make_key(Path(tmp) / "reelforge")
        servers = {kind: start(kind, Path(tmp) / kind) for kind in ("bare", "reelforge")}
        rounds_seen: dict[str, list[Result]] = {}
        try:
            for round_index in range(rounds):
                # Alternate the order too, so neither side always runs first.
                order = list(servers.items())[:: 1 if round_index % 2 == 0 else -1]
                for kind, (_process, base) in order:
                    key = token if kind == "reelforge" else ""
                    flip = round_index % 2 == 1
                    measured = asyncio.run(measure(kind, base, key, total, concurrency, flip))
                    for result in measured:
                        rounds_seen.setdefault(result.name, []).append(result)
        finally:
            for process, _base in servers.values():
                process.terminate()
                process.wait(timeout=30)
    report(rounds_seen, total, concurrency, rounds)


def report(seen: dict[str, list[Result]], total: int, concurrency: int, rounds: int) -> None:
    """Median round per endpoint; the ratio is the median of per-round ratios (each ReelForge
    round against the bare round run next to it), which cancels slow drifts in machine load."""
    bare = {"create": seen.pop("bare create"), "status": seen.pop("bare status")}
    print(
        f"requests per endpoint and round: {total}, concurrency: {concurrency}, "
        f"rounds: {rounds} (median shown), cpus: {os.cpu_count()}"
    )
    print(f"{'endpoint':<28} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8}   ratio (min-max)")
    for kind in ("create", "status"):
        print(_median(bare[kind]).row(None))
    worst = 1e9
    for name, found in seen.items():
        baseline = bare["create" if "create" in name else "status"]
        ratios = sorted(r.throughput / b.throughput for r, b in zip(found, baseline, strict=True))
        middle = ratios[len(ratios) // 2]
        worst = min(worst, middle)
        spread = f"({ratios[0]:.2f}-{ratios[-1]:.2f})"
        print(f"{_median(found).row(None)[:-5]}{middle:5.2f} {spread}")
    print(f"worst median ratio: {worst:.2f} (goal >= 0.80)")


def _median(found: list[Result]) -> Result:
    return sorted(found, key=lambda r: r.throughput)[len(found) // 2]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--serve", nargs=3, metavar=("KIND", "DATA_DIR", "PORT"))
    args = parser.parse_args()
    if args.serve:
        kind, data_dir, port = args.serve
        serve(kind, Path(data_dir), int(port))
        return
    run(args.requests, args.concurrency, args.rounds)


if __name__ == "__main__":
    main()
