"""Latency under load: a real ``reelforge serve`` answering status reads and creates while its
workers render, measured from outside.

    .venv/bin/python bench/bench_latency.py [--postgres URL] [--seconds 30] [--modes thread,process]

Per workers mode (``embedded_workers_mode``: ``thread`` = workers in the server's interpreter,
``process`` = a supervised child process) and database (SQLite; PostgreSQL with ``--postgres``),
one fresh server (testcard engine, ``worker_concurrency`` 1) and, in one run:

1. idle: status ``GET /v1/videos/{id}`` at a fixed rate (default 20/s, nothing else running),
   then JSON creates at a fixed rate (20/s, each cancelled at once so the queue stays empty);
2. loaded: the same two phases while a render is always in progress (12 s clips queued ahead;
   a sampler reads the queue every 0.5 s and reports how much of the time a job was running);
3. image-to-video creates on the idle server, one at a time: a 1280x720 PNG photo (scikit-image's
   coffee cup, no face) as a data URL.

Requests are sent open-loop at fixed rates (not one after another), over keep-alive
connections with TCP_NODELAY (httpx); latency is send to full response. Printed per phase:
n, p50, p99 and max (ms), the API process's CPU seconds, the machine's load, and the ratios
loaded/idle. Targets (issue 16): status p99 loaded <= 2x idle; image create p99 < 300 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import io
import os
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable, Coroutine, Mapping
from pathlib import Path
from typing import Any

import httpx
import numpy as np
from PIL import Image

from reelforge.core.config import Settings
from reelforge.core.runtime import Runtime

ROOT = Path(__file__).resolve().parent.parent
PROMPT = "Wide shot of a red kite over a beach at golden hour, slow pan"
CREATE = {"prompt": PROMPT, "model": "sora-2", "seconds": "4", "size": "1280x720"}
FILLER = {**CREATE, "seconds": "12"}
Samples = dict[str, list[float]]


# -- the server ------------------------------------------------------------------------------


def fresh_pg_schema(base: str) -> tuple[str, Callable[[], None]]:
    """A SQLAlchemy URL on a new schema, and the function that drops it."""
    import psycopg

    schema = f"rf_bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(base, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")

    def drop() -> None:
        with psycopg.connect(base, autocommit=True) as conn:
            conn.execute(f"DROP SCHEMA {schema} CASCADE")

    url = f"postgresql+psycopg://{base.split('://', 1)[1]}?options=-csearch_path%3D{schema}"
    return url, drop


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_server(
    mode: str | None,
    data_dir: Path,
    database_url: str | None,
    settings_env: dict[str, str] | None = None,
) -> tuple[subprocess.Popen[bytes], str, str]:
    """A ready ``reelforge serve`` subprocess, its base URL and an API key's token;
    ``settings_env``: REELFORGE_* variables that replace the defaults (testcard, 1 slot)."""
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src"), "REELFORGE_DATA_DIR": str(data_dir)}
    env.update(REELFORGE_ENGINE="testcard", REELFORGE_WORKER_CONCURRENCY="1")
    env.update(settings_env or {})
    if database_url:
        env["REELFORGE_DATABASE_URL"] = database_url
    if mode:
        env["REELFORGE_EMBEDDED_WORKERS_MODE"] = mode
    runtime = Runtime.open(Settings(data_dir=data_dir, database_url=database_url))
    try:
        token = runtime.keys.create("bench").token
    finally:
        runtime.close()
    port = free_port()
    command = [sys.executable, "-m", "reelforge.cli", "serve", "--port", str(port)]
    process = subprocess.Popen(command, env=env, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        try:
            if httpx.get(base + "/readyz", timeout=2).status_code == 200:
                return process, base, token
        except httpx.TransportError:
            pass
        if process.poll() is not None:
            raise RuntimeError(f"the server exited with {process.returncode}")
        time.sleep(0.2)
    process.kill()
    raise RuntimeError("the server did not become ready in 90 s")


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def image_data_url() -> str:
    """A 1280x720 photo without faces (scikit-image's coffee, with sensor-like noise) as PNG."""
    try:
        import skimage.data

        coffee = np.asarray(skimage.data.coffee())  # type: ignore[no-untyped-call]
        pixels = np.asarray(Image.fromarray(coffee).resize((1280, 720)), np.int16)
    except ImportError:  # scikit-image is a dev dependency; a gradient will do
        ramp = np.linspace(0, 255, 1280, dtype=np.int16)
        pixels = np.broadcast_to(ramp[None, :, None], (720, 1280, 3)).astype(np.int16)
    noise = np.random.default_rng(7).normal(0, 3, pixels.shape).astype(np.int16)
    buffer = io.BytesIO()
    Image.fromarray(np.clip(pixels + noise, 0, 255).astype(np.uint8)).save(buffer, "PNG")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()


# -- the load -------------------------------------------------------------------------------


async def fixed_rate(
    rate: float, seconds: float, call: Callable[[], Coroutine[Any, Any, None]]
) -> None:
    """Start ``call`` every 1/rate s for ``seconds`` (open loop: a slow answer delays nothing)."""
    began, tasks = time.perf_counter(), list[asyncio.Task[None]]()
    for index in range(int(rate * seconds)):
        await asyncio.sleep(max(0.0, began + index / rate - time.perf_counter()))
        tasks.append(asyncio.create_task(call()))
    await asyncio.gather(*tasks)


async def timed(
    client: httpx.AsyncClient,
    into: list[float],
    method: str,
    path: str,
    body: Mapping[str, object] | None = None,
) -> httpx.Response:
    began = time.perf_counter()
    response = await client.request(method, path, json=body)
    into.append(time.perf_counter() - began)
    if response.status_code != 200:
        raise RuntimeError(f"{method} {path}: HTTP {response.status_code}: {response.text[:300]}")
    return response


async def create_and_cancel(
    client: httpx.AsyncClient, into: list[float], body: Mapping[str, object]
) -> None:
    video = (await timed(client, into, "POST", "/v1/videos", body)).json()
    cancelled = await client.post(f"/v1/videos/{video['id']}/cancel")
    if cancelled.status_code not in (200, 409):
        raise RuntimeError(f"cancel: HTTP {cancelled.status_code}: {cancelled.text[:300]}")


async def status_phase(client: httpx.AsyncClient, probe: str, args: argparse.Namespace) -> Samples:
    found: list[float] = []
    await fixed_rate(args.status_rate, args.seconds, lambda: _get(client, found, probe))
    return {"status": found}


async def create_phase(client: httpx.AsyncClient, args: argparse.Namespace) -> Samples:
    """Creates, each cancelled at once: while idle the worker claims one and stops within a
    step, so the workers' side is busier here than in the status phase."""
    found: list[float] = []
    await fixed_rate(
        args.create_rate, args.seconds, lambda: create_and_cancel(client, found, CREATE)
    )
    return {"create": found}


async def _get(client: httpx.AsyncClient, into: list[float], video_id: str) -> None:
    await timed(client, into, "GET", f"/v1/videos/{video_id}")


async def rendering_share(runtime: Runtime, stop: asyncio.Event) -> float:
    """The share of 0.5 s samples in which a job was running."""
    seen = []
    while not stop.is_set():
        counts = await asyncio.to_thread(runtime.store.count_by_status)
        seen.append(any(status.value == "running" and n for status, n in counts.items()))
        await asyncio.sleep(0.5)
    return sum(seen) / max(1, len(seen))


async def measure(
    base: str, token: str, pid: int, settings: Settings, args: argparse.Namespace
) -> dict[str, object]:
    headers = {"Authorization": f"Bearer {token}"}
    limits = httpx.Limits(max_connections=64, max_keepalive_connections=64)
    out: dict[str, object] = {}
    async with httpx.AsyncClient(
        base_url=base, headers=headers, limits=limits, timeout=60
    ) as client:
        probe = (await client.post("/v1/videos", json=CREATE)).json()["id"]
        await client.post(f"/v1/videos/{probe}/cancel")
        await create_phase(client, argparse.Namespace(**{**vars(args), "seconds": 3}))  # warm
        out["idle"] = await _phase(status_phase(client, probe, args), pid)
        out["idle "] = await _phase(create_phase(client, args), pid)
        fillers = [
            (await client.post("/v1/videos", json=FILLER)).json()["id"] for _ in range(args.fillers)
        ]
        while (await client.get(f"/v1/videos/{fillers[0]}")).json()["status"] != "in_progress":
            await asyncio.sleep(0.1)
        runtime, stop = Runtime.open(settings), asyncio.Event()
        sampler = asyncio.create_task(rendering_share(runtime, stop))
        out["loaded"] = await _phase(status_phase(client, probe, args), pid)
        out["loaded "] = await _phase(create_phase(client, args), pid)
        stop.set()
        out["rendering_share"] = await sampler
        runtime.close()
        for video_id in fillers:
            await client.post(f"/v1/videos/{video_id}/cancel")
        await _wait_idle(client, fillers[-1])
        out["image"] = await _phase(image_creates(client, args.image_samples), pid)
    return out


async def image_creates(client: httpx.AsyncClient, samples: int) -> Samples:
    """One image create at a time: each costs the server most of a CPU second (the face check),
    so a fixed rate on two cores would measure the queue, not the request."""
    image = {**CREATE, "input_reference": {"image_url": image_data_url()}}
    found: list[float] = []
    for _ in range(samples):
        await create_and_cancel(client, found, image)
    return {"image": found}


async def _phase(run: Awaitable[Samples], pid: int) -> dict[str, object]:
    cpu, load = cpu_seconds(pid), os.getloadavg()[0]
    samples = await run
    return {
        "samples": samples,
        "api_cpu_s": cpu_seconds(pid) - cpu,
        "load": (load, os.getloadavg()[0]),
    }


async def _wait_idle(client: httpx.AsyncClient, last: str) -> None:
    while (await client.get(f"/v1/videos/{last}")).json()["status"] not in (
        "failed",
        "completed",
        "cancelled",
    ):
        await asyncio.sleep(0.2)
    await asyncio.sleep(2)  # let the cancelled render wind down


# -- the report -----------------------------------------------------------------------------


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000


def report(label: str, out: dict[str, object]) -> dict[str, float]:
    print(f"\n{label}: a job was rendering in {out['rendering_share']:.0%} of the loaded phase")
    header = f"{'phase':<8} {'request':<8} {'n':>5} {'p50 ms':>8} {'p99 ms':>8} {'max ms':>8}"
    print(f"{header}  API CPU s  load")
    p99: dict[str, float] = {}
    for phase in ("idle", "idle ", "loaded", "loaded ", "image"):
        found = out[phase]
        assert isinstance(found, dict)
        for name, values in found["samples"].items():
            p99[f"{phase.strip()} {name}"] = percentile(values, 0.99)
            print(
                f"{phase:<8} {name:<8} {len(values):>5} {percentile(values, 0.5):8.1f} "
                f"{percentile(values, 0.99):8.1f} {max(values) * 1000:8.1f}  "
                f"{found['api_cpu_s']:9.1f}  {found['load'][0]:.1f}-{found['load'][1]:.1f}"
            )
    status, create = (p99[f"loaded {n}"] / p99[f"idle {n}"] for n in ("status", "create"))
    print(
        f"p99 loaded/idle: status {status:.2f}x (target <= 2), create {create:.2f}x; "
        f"image create p99 {p99['image image']:.0f} ms (target < 300)"
    )
    return p99


def run_one(mode: str | None, database: str | None, args: argparse.Namespace) -> None:
    database_url, drop = fresh_pg_schema(database) if database else (None, lambda: None)
    with tempfile.TemporaryDirectory(prefix="reelforge-latency-") as tmp:
        process, base, token = start_server(mode, Path(tmp), database_url)
        try:
            settings = Settings(data_dir=Path(tmp), database_url=database_url)
            out = asyncio.run(measure(base, token, process.pid, settings, args))
        finally:
            process.terminate()
            process.wait(timeout=60)
            drop()
        report(f"workers {mode or 'default'}, {'postgresql' if database else 'sqlite'}", out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--postgres", help="also run on this PostgreSQL (a fresh schema)")
    parser.add_argument("--modes", default="thread,process", help="embedded_workers_mode values")
    parser.add_argument("--seconds", type=float, default=15, help="per phase")
    parser.add_argument("--status-rate", type=float, default=20)
    parser.add_argument("--create-rate", type=float, default=20)
    parser.add_argument("--image-samples", type=int, default=100, help="sequential")
    parser.add_argument("--fillers", type=int, default=20, help="12 s jobs queued for the load")
    args = parser.parse_args()
    has_modes = "embedded_workers_mode" in Settings.model_fields
    modes: list[str | None] = list(args.modes.split(",")) if has_modes else [None]
    print(f"cpus: {os.cpu_count()}, load: {os.getloadavg()}, args: {vars(args)}")
    for database in [None, args.postgres] if args.postgres else [None]:
        for mode in modes:
            run_one(mode, database, args)


if __name__ == "__main__":
    main()
