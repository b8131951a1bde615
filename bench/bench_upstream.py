"""What ReelForge costs in front of an upstream video server, against calling it directly.

    python bench/bench_upstream.py [--jobs 5] [--render 2.0]

The upstream is the test suite's fake OpenAI ``/v1/videos`` server (in this process), which
"renders" for ``--render`` seconds and then serves a prepared clip. For each length (4, 8, 12 s)
and two kinds of clip, ``--jobs`` jobs run one after another:

  direct   the official ``openai`` SDK against the fake: create, poll, download.
  via      the same SDK against a ``reelforge serve`` subprocess (engine ``upstream``, SQLite,
           one worker child process) forwarding to the same fake.

Clips: ``exact`` is what we deliver already (requested size, 24 fps, AAC), so ReelForge only
remuxes it and makes previews; ``odd`` is what in-memory servers often return (5 s at
1280x704, no audio), which ReelForge re-encodes to the contract.

Reported per job (medians): wall time direct and via, the added latency (via - direct), and
the CPU seconds the ReelForge processes (server + worker child) spent per job.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

import openai
import psutil

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # the fake upstream lives in tests/support
from tests.support.fake_upstream import FakeUpstream, FakeUpstreamBehaviour  # noqa: E402

from bench.bench_latency import start_server  # noqa: E402

warnings.filterwarnings("ignore", category=DeprecationWarning)


def start_front(data_dir: Path, fake: FakeUpstream) -> tuple[subprocess.Popen[bytes], str, str]:
    options = {
        "allow_private": ["127.0.0.1/32"],
        "poll_max_seconds": 0.5,
        "upstreams": [
            {
                "name": "fake",
                "base_url": fake.url,
                "api_key": fake.behaviour.api_key,
                "models": {"sora-2": "fake-video-1"},
                "max_in_flight": 4,
            }
        ],
    }
    settings_env = {
        "REELFORGE_ENGINE": "upstream",
        "REELFORGE_ENGINE_OPTIONS": json.dumps(options),
        "REELFORGE_POLL_AFTER_MS": "200",
    }
    return start_server(None, data_dir, None, settings_env)


def cpu_seconds(process: psutil.Process) -> float:
    total = 0.0
    for proc in [process, *process.children(recursive=True)]:
        try:
            times = proc.cpu_times()
            total += times.user + times.system
        except psutil.NoSuchProcess:
            pass
    return total


def one_job(client: openai.OpenAI, model: str, seconds: str, dest: Path) -> float:
    started = time.perf_counter()
    video = client.videos.create_and_poll(
        model=model, prompt="a lighthouse at dusk", seconds=seconds, size="1280x720",  # type: ignore[arg-type]
        poll_interval_ms=200,
    )  # fmt: skip
    if video.status != "completed":
        raise RuntimeError(f"job failed: {video.error}")
    client.videos.download_content(video.id).write_to_file(dest)
    return time.perf_counter() - started


def measure(args: argparse.Namespace, fake: FakeUpstream, front: openai.OpenAI,
            server: psutil.Process, seconds: str, scratch: Path) -> dict[str, float]:  # fmt: skip
    direct = openai.OpenAI(api_key=fake.behaviour.api_key, base_url=fake.api_base)
    one_job(direct, "fake-video-1", seconds, scratch / "d.mp4")  # the fake encodes its clip once
    direct_times = [
        one_job(direct, "fake-video-1", seconds, scratch / "d.mp4") for _ in range(args.jobs)
    ]
    before = cpu_seconds(server)
    via_times = [one_job(front, "sora-2", seconds, scratch / "v.mp4") for _ in range(args.jobs)]
    cpu = (cpu_seconds(server) - before) / args.jobs
    direct_s, via_s = statistics.median(direct_times), statistics.median(via_times)
    return {"direct": direct_s, "via": via_s, "added": via_s - direct_s, "cpu": cpu}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--jobs", type=int, default=5)
    parser.add_argument("--render", type=float, default=2.0)
    args = parser.parse_args()
    behaviour = FakeUpstreamBehaviour(render_seconds=args.render)
    with FakeUpstream(behaviour) as fake, tempfile.TemporaryDirectory() as tmp:
        process, base, token = start_front(Path(tmp) / "front", fake)
        try:
            front = openai.OpenAI(api_key=token, base_url=base + "/v1")
            server = psutil.Process(process.pid)
            print(f"{args.jobs} jobs each, upstream render {args.render:.1f} s, medians per job")
            print("| clip | seconds | direct s | via ReelForge s | added s | ReelForge CPU s |")
            print("|---|---|---|---|---|---|")
            for clip in ("exact", "odd"):
                exact = clip == "exact"
                behaviour.clip_size = None if exact else "1280x704"
                behaviour.clip_audio = exact
                for seconds in ("4", "8", "12"):
                    behaviour.clip_seconds = None if exact else 5.0
                    row = measure(args, fake, front, server, seconds, Path(tmp))
                    print(
                        f"| {clip} | {seconds} | {row['direct']:.2f} | {row['via']:.2f} | "
                        f"{row['added']:.2f} | {row['cpu']:.2f} |"
                    )
        finally:
            process.terminate()
            process.wait(30)


if __name__ == "__main__":
    main()
