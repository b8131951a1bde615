"""Blob store benchmark: the S3 store (a real S3 protocol server on loopback, moto's server
mode) against the local blob store, in the same run.

    .venv/bin/python bench/bench_blobs.py [--rounds 10] [--downloads 30] [--extra-mib 64]

1. Store throughput: ``put_file`` and a full read (``open``) of a 12 s 1280x720 testcard clip
   (rendered here, as a worker would), MB/s median over ``--rounds``; with ``--extra-mib`` also
   a file of that size (multipart: 8 MiB parts). Local reads come from the page cache.
2. API download latency: three ``reelforge serve`` processes, media local / S3 streamed / S3
   redirected (the last shares the second's database and bucket), each serving the same kind
   of 12 s video made by a real job. Per mode: time to first byte and full download of
   ``GET /v1/videos/{id}/content`` (the redirect followed), and a 64 KiB Range read (a
   player's seek), p50 and p90 over ``--downloads`` sequential requests.

Printed as tables with ratios to the local baseline. The S3 server is a Python process on the
same machine: its figures are a floor for protocol overhead, not a forecast for AWS.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

import httpx

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))  # the S3 server helper lives in tests/support

from tests.support.s3 import S3Bucket, S3Server, free_port  # noqa: E402
from tests.support.wait import wait_for  # noqa: E402

from bench.bench_testcard import make_clip  # noqa: E402
from reelforge.core.config import Settings  # noqa: E402
from reelforge.core.runtime import Runtime  # noqa: E402
from reelforge.media import render_media  # noqa: E402
from reelforge.storage.base import BlobStore  # noqa: E402
from reelforge.storage.factory import open_blob_store  # noqa: E402
from reelforge.storage.local import LocalBlobStore  # noqa: E402

MIB = 1 << 20


def render_clip(workdir: Path) -> Path:
    spec, clip = make_clip("1280x720", 12)
    return render_media(clip, spec, workdir).video


def _median_rate(size: int, run: Callable[[int], None], rounds: int) -> float:
    """MB/s (10^6 bytes) of the median round."""
    times = []
    for i in range(rounds):
        start = time.perf_counter()
        run(i)
        times.append(time.perf_counter() - start)
    return size / statistics.median(times) / 1e6


def store_rates(store: BlobStore, source: Path, rounds: int) -> tuple[float, float]:
    size = source.stat().st_size
    up = _median_rate(size, lambda i: store.put_file(f"bench/r{i}/video.mp4", source), rounds)

    def read(i: int) -> None:
        with store.open(f"bench/r{i}/video.mp4") as handle:
            while handle.read(MIB):
                pass

    down = _median_rate(size, read, rounds)
    store.delete_prefix("bench")
    return up, down


def store_table(files: list[Path], bucket: S3Bucket, tmp: Path, rounds: int) -> None:
    settings = Settings(data_dir=tmp / "unused", **bucket.settings())
    s3 = open_blob_store(settings)
    local = LocalBlobStore(tmp / "local-media")
    print(f"\nStore throughput (MB/s, median of {rounds})")
    print(
        f"{'file':<22}{'store':<8}{'upload':>10}{'download':>10}{'up/local':>10}{'down/local':>11}"
    )
    for source in files:
        base_up, base_down = store_rates(local, source, rounds)
        s3_up, s3_down = store_rates(s3, source, rounds)
        label = f"{source.name} {source.stat().st_size / MIB:.1f} MiB"
        print(f"{label:<22}{'local':<8}{base_up:>10.0f}{base_down:>10.0f}{1:>10.2f}{1:>11.2f}")
        print(
            f"{'':<22}{'s3':<8}{s3_up:>10.0f}{s3_down:>10.0f}"
            f"{s3_up / base_up:>10.2f}{s3_down / base_down:>11.2f}"
        )


# -- API download latency ---------------------------------------------------------------------


@contextmanager
def serve(env: dict[str, str], workers: bool) -> Iterator[str]:
    port = free_port()
    command = [str(Path(sys.executable).parent / "reelforge"), "serve", "--port", str(port)]
    if not workers:
        command.append("--no-workers")
    process = subprocess.Popen(
        command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    base = f"http://127.0.0.1:{port}"

    def ready() -> bool:
        if process.poll() is not None:
            raise RuntimeError(f"reelforge serve exited with {process.returncode}")
        try:
            return httpx.get(f"{base}/healthz", timeout=1).status_code == 200
        except httpx.TransportError:
            return False

    try:
        wait_for(ready, timeout=120, interval=0.1)
        yield base
    finally:
        process.terminate()
        process.wait(timeout=60)


def server_env(data_dir: Path, **settings: Any) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("REELFORGE_", "AWS_"))}
    env["REELFORGE_DATA_DIR"] = str(data_dir)
    env["REELFORGE_POLICY_SEMANTIC"] = "off"
    env["REELFORGE_EMBEDDED_WORKERS_MODE"] = "thread"
    for name, value in settings.items():
        env[f"REELFORGE_{name.upper()}"] = str(value)
    return env


def api_key(env: dict[str, str]) -> str:
    settings = Settings(**{k[10:].lower(): v for k, v in env.items() if k.startswith("REELFORGE_")})
    runtime = Runtime.open(settings)
    try:
        return runtime.keys.create("bench").token
    finally:
        runtime.close()


def make_video(base: str, token: str) -> str:
    http = httpx.Client(base_url=base, headers={"Authorization": f"Bearer {token}"}, timeout=60)
    with http:
        body = {"prompt": "a lighthouse at dusk", "seconds": "12", "size": "1280x720"}
        video = http.post("/v1/videos", json=body).raise_for_status().json()
        done = wait_for(
            lambda: (
                (v := http.get(f"/v1/videos/{video['id']}").json())["status"]
                in ("completed", "failed")
                and v
            ),
            timeout=600,
            interval=0.5,
        )
    assert done["status"] == "completed", done
    return str(video["id"])


def time_downloads(url: str, token: str, count: int) -> dict[str, list[float]]:
    times: dict[str, list[float]] = {"ttfb": [], "full": [], "seek": []}
    headers = {"Authorization": f"Bearer {token}"}
    with httpx.Client(headers=headers, follow_redirects=True, timeout=60) as http:
        for _ in range(count):
            start = time.perf_counter()
            with http.stream("GET", url) as response:
                response.raise_for_status()
                chunks = response.iter_raw(MIB)
                next(chunks)
                times["ttfb"].append(time.perf_counter() - start)
                for _ in chunks:
                    pass
            times["full"].append(time.perf_counter() - start)
            start = time.perf_counter()
            part = http.get(url, headers={"Range": "bytes=0-65535"})
            assert part.status_code == 206 and len(part.content) == 65536, part.status_code
            times["seek"].append(time.perf_counter() - start)
    return times


def api_table(bucket: S3Bucket, tmp: Path, count: int) -> None:
    local_env = server_env(tmp / "api-local")
    s3_env = server_env(tmp / "api-s3", **bucket.settings())
    redirect_env = {**s3_env, "REELFORGE_BLOB_DOWNLOADS": "redirect"}
    results: dict[str, dict[str, list[float]]] = {}
    with ExitStack() as stack:
        local = stack.enter_context(serve(local_env, workers=True))
        streamed = stack.enter_context(serve(s3_env, workers=True))
        redirected = stack.enter_context(serve(redirect_env, workers=False))
        local_token, s3_token = api_key(local_env), api_key(s3_env)
        local_video, s3_video = make_video(local, local_token), make_video(streamed, s3_token)
        content = "/v1/videos/{}/content"
        plan = [
            ("local, streamed", local + content.format(local_video), local_token),
            ("s3, streamed", streamed + content.format(s3_video), s3_token),
            ("s3, redirect", redirected + content.format(s3_video), s3_token),
        ]
        for name, url, token in plan:
            time_downloads(url, token, 3)  # warm connections and caches
            results[name] = time_downloads(url, token, count)
    baseline = results["local, streamed"]
    print(f"\nAPI content download, 12 s 1280x720 video (ms over {count} requests)")
    header = f"{'mode':<18}"
    for what in ("ttfb", "full", "seek"):
        header += f"{what + ' p50':>10}{what + ' p90':>10}{'x local':>9}"
    print(header)
    for name, times in results.items():
        row = f"{name:<18}"
        for what in ("ttfb", "full", "seek"):
            p50, p90 = _pct(times[what], 50), _pct(times[what], 90)
            row += f"{p50 * 1000:>10.1f}{p90 * 1000:>10.1f}{p50 / _pct(baseline[what], 50):>9.2f}"
        print(row)


def _pct(values: list[float], pct: int) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(pct / 100 * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--downloads", type=int, default=30)
    parser.add_argument("--extra-mib", type=int, default=64, help="0: the clip only")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp_name, S3Server() as server:
        tmp = Path(tmp_name)
        files = [render_clip(tmp / "clip")]
        if args.extra_mib:
            extra = tmp / "extra.bin"
            extra.write_bytes(os.urandom(args.extra_mib * MIB))
            files.append(extra)
        store_table(files, server.bucket(), tmp, args.rounds)
        api_table(server.bucket(), tmp, args.downloads)


if __name__ == "__main__":
    main()
