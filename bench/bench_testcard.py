"""Benchmark: the testcard job end to end against the ffmpeg command line.

Three timings for one clip (default 12 s at 1280x720), each the best of ``--repeat`` runs:

- ``frames``: the engine alone, iterating its frames (what the encoders are fed);
- ``reelforge``: engine frames -> ``render_media`` (PyAV encode + thumbnail + spritesheet), run
  in a fresh subprocess so its peak RSS is the job's own (``VmHWM``, else ``ru_maxrss``);
- ``ffmpeg``: the same frames piped as rawvideo rgb24 into the ``ffmpeg`` binary from
  imageio-ffmpeg, with the same soundtrack as a second input and the same encoder settings
  (``reelforge.media.ENCODE.ffmpeg_output_args()``).

Usage: ``python bench/bench_testcard.py [--seconds 12] [--size 1280x720] [--repeat 3]``
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from reelforge.domain.specs import GenerationSpec
from reelforge.engines.base import EngineRequest, VideoClip
from reelforge.engines.testcard import TestcardEngine
from reelforge.media import ENCODE, probe, render_media

PROMPT = "A lighthouse on a cliff at dusk, waves crashing below, gulls circling in slow motion"


class _NoControl:
    def step(self, done: float, total: float, stage: str = "") -> None:
        pass

    def log(self, message: str) -> None:
        pass


def make_clip(size: str, seconds: int) -> tuple[GenerationSpec, VideoClip]:
    spec = GenerationSpec.build(PROMPT, size=size, seconds=seconds, seed=1234)
    return spec, TestcardEngine().generate(EngineRequest(spec), _NoControl())


def _peak_rss_kib() -> int:
    """This process's peak RSS. On Linux ``ru_maxrss`` survives exec, so a child would report
    its parent's peak if that were larger; ``VmHWM`` belongs to this program alone."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def _cpu_seconds(who: int) -> float:
    usage = resource.getrusage(who)
    return usage.ru_utime + usage.ru_stime


def time_frames(size: str, seconds: int) -> dict[str, float]:
    _, clip = make_clip(size, seconds)
    cpu_start, start = time.process_time(), time.perf_counter()
    for _ in clip.frames:
        pass
    return {"wall_s": time.perf_counter() - start, "cpu_s": time.process_time() - cpu_start}


def run_job(size: str, seconds: int, workdir: Path) -> dict[str, float]:
    """The job as a worker runs it; called in a subprocess (``--job``)."""
    baseline_kib = _peak_rss_kib()
    cpu_start, start = _cpu_seconds(resource.RUSAGE_SELF), time.perf_counter()
    spec, clip = make_clip(size, seconds)
    files = render_media(clip, spec, workdir)
    wall = time.perf_counter() - start
    peak_kib = _peak_rss_kib()
    return {
        "wall_s": wall,
        "cpu_s": _cpu_seconds(resource.RUSAGE_SELF) - cpu_start,
        "peak_rss_mib": peak_kib / 1024,
        "rss_after_imports_mib": baseline_kib / 1024,
        "video_bytes": files.video.stat().st_size,
    }


def time_job_subprocess(size: str, seconds: int, workdir: Path) -> dict[str, float]:
    command = [sys.executable, __file__, "--job", "--size", size, "--seconds", str(seconds)]
    result = subprocess.run(
        [*command, "--workdir", str(workdir)], check=True, capture_output=True, text=True
    )
    report: dict[str, float] = json.loads(result.stdout.strip().splitlines()[-1])
    return report


def ffmpeg_command(ffmpeg: str, spec: GenerationSpec, audio_path: Path, out: Path) -> list[str]:
    video_in = ["-f", "rawvideo", "-pix_fmt", "rgb24", "-s", spec.size, "-r", "24", "-i", "pipe:0"]
    audio_in = ["-f", "f32le", "-ar", "48000", "-ac", "2", "-i", str(audio_path)]
    convert = ["-vf", "scale=out_color_matrix=bt709:out_range=tv"]  # as PyAV's reformat does
    return [
        *(ffmpeg, "-hide_banner", "-loglevel", "error", "-y"),
        *video_in,
        *audio_in,
        *("-map", "0:v", "-map", "1:a", "-shortest"),
        *convert,
        *ENCODE.ffmpeg_output_args(),
        str(out),
    ]


def time_ffmpeg(ffmpeg: str, size: str, seconds: int, workdir: Path) -> dict[str, float]:
    spec, clip = make_clip(size, seconds)
    audio_path = workdir / "audio.f32le"
    # interleaved little-endian float32 (samples, channels), ffmpeg's f32le layout
    audio_path.write_bytes(clip.audio.T.astype("<f4").tobytes())
    out = workdir / "ffmpeg.mp4"
    cpu_start = time.process_time() + _cpu_seconds(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    process = subprocess.Popen(ffmpeg_command(ffmpeg, spec, audio_path, out), stdin=subprocess.PIPE)
    assert process.stdin is not None
    for frame in clip.frames:
        process.stdin.write(frame.tobytes())
    process.stdin.close()
    if process.wait() != 0:
        raise SystemExit(f"ffmpeg failed with exit code {process.returncode}")
    wall = time.perf_counter() - start
    cpu = time.process_time() + _cpu_seconds(resource.RUSAGE_CHILDREN) - cpu_start
    info = probe(out)
    assert (info.width, info.height, info.frame_count) == (
        spec.width,
        spec.height,
        spec.frame_count,
    )
    return {"wall_s": wall, "cpu_s": cpu, "video_bytes": out.stat().st_size}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", default="1280x720")
    parser.add_argument("--seconds", type=int, default=12)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--job", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--workdir", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.job:
        print(json.dumps(run_job(args.size, args.seconds, args.workdir)))
        return
    import imageio_ffmpeg  # type: ignore[import-untyped]

    ffmpeg = imageio_ffmpeg.get_ffmpeg_exe()
    results: dict[str, list[dict[str, float]]] = {"frames": [], "reelforge": [], "ffmpeg": []}
    with tempfile.TemporaryDirectory() as tmp:
        for run in range(args.repeat):
            workdir = Path(tmp) / str(run)
            workdir.mkdir()
            results["frames"].append(time_frames(args.size, args.seconds))
            results["reelforge"].append(time_job_subprocess(args.size, args.seconds, workdir))
            results["ffmpeg"].append(time_ffmpeg(ffmpeg, args.size, args.seconds, workdir))
    print_report(args, results, ffmpeg)


def print_report(
    args: argparse.Namespace, results: dict[str, list[dict[str, float]]], ffmpeg: str
) -> None:
    best = {name: min(runs, key=lambda r: r["wall_s"]) for name, runs in results.items()}
    ratio = best["reelforge"]["wall_s"] / best["ffmpeg"]["wall_s"]
    print(f"testcard {args.seconds} s at {args.size}, best of {args.repeat}")
    print(f"x264 preset {ENCODE.preset}, crf {ENCODE.crf}; {os.cpu_count()} CPUs; {ffmpeg}")
    print(f"load average at the end: {os.getloadavg()[0]:.2f}")
    print("| run | wall s (best) | wall s, all runs | CPU s | peak RSS MiB | video KiB |")
    print("|---|---|---|---|---|---|")
    for name, runs in results.items():
        row = best[name]
        all_runs = ", ".join(f"{r['wall_s']:.2f}" for r in runs)
        rss = f"{row['peak_rss_mib']:.0f}" if "peak_rss_mib" in row else ""
        size = f"{row['video_bytes'] / 1024:.0f}" if "video_bytes" in row else ""
        cpu = f"{row['cpu_s']:.2f}"
        print(f"| {name} | {row['wall_s']:.2f} | {all_runs} | {cpu} | {rss} | {size} |")
    imports = best["reelforge"]["rss_after_imports_mib"]
    print(f"reelforge / ffmpeg wall ratio: {ratio:.2f}; job RSS after imports {imports:.0f} MiB")


if __name__ == "__main__":
    main()
