"""One-shot GPU acceptance: the default configuration, full size, through the worker.

    python -m bench.gpu.acceptance                   # on one GPU (designed for < 8 min on an H200)
    python -m bench.gpu.acceptance --tiny            # the same flow on CPU with tiny pipelines (CI)
    python -m bench.gpu.acceptance --out results.json --budget-s 420

What it does, in order, printing a timestamped line and rewriting the JSON file after each step
(so a run cut short by a time limit still leaves every figure it reached):

1. **environment**: torch / diffusers versions, the device and its free memory.
2. **plan**: the engine's memory plan for the default ``engine_options`` (the gate the engine
   itself applies before loading: ``plan.check_plan``); a refusal ends the run with its line.
3. **build**: every preset in use built with random weights from the released configs
   (``bench.gpu.architectures``: the same ``published.json`` the plan reads), components with the
   same weights shared as the engine shares them, then wrapped by the engine's own
   ``model_from_pipeline`` (tiling, attention backend, fp8, compile, device placement). No hub
   access is needed: the GPU machine has no network. Measured: build seconds, allocated and
   reserved memory against the plan's weights.
4. **worker**: a real ``Worker`` on a SQLite database and a local blob store in a temporary data
   directory; ``load_engine()`` must report ready.
5. **warm-up** (``--no-warm-up`` skips it): one text-to-video engine call per preset, timed on
   its own: the cold start (CUDA context, cuDNN autotuning) instead of a slower first job.
6. **jobs**: per preset in use, one 4 s text-to-video and one 4 s image-to-video job, each
   enqueued and run by ``Worker.run_until_idle()`` (claim, engine, MP4 encode, upload, commit),
   then its stored MP4 probed (1280x720, 96 frames, AAC stereo as long as the video) and, for
   image-to-video, frame 0 compared with the input. Measured: job wall seconds, engine seconds,
   GPU-seconds per video-second, peak reserved memory per job.
7. **verdict**: every check with its figures; exit status 0 only when all pass.

Random weights make noise, not pictures: this proves loading, memory, speed and the contract,
not visual quality.
"""

from __future__ import annotations

import argparse
import io
import json
import math
import os
import platform
import sys
import tempfile
import time
import traceback
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import torch
from PIL import Image

DEFAULT_BUDGET_S = 480.0
SECONDS = 4
PROMPT = "a red kite over a windy beach at sunset, waves breaking"
WEIGHTS_TOLERANCE = 0.10
"""Measured weights within 10 % of the plan's (the plan keeps some modules in float32)."""
FRAME0_MAX_MEAN_ABS_DIFF = 12.0
"""Frame 0 of an image-to-video job is the input itself, through one x264 encode (8-bit)."""
SUMMARY_KEYS = ("status", "job_wall_s", "engine_s", "gpu_s_per_video_s", "peak_reserved_gib")
TINY_OVERRIDES: dict[str, Any] = {
    "device": "cpu",
    "dtype": "float32",
    "gen_width": 64,
    "gen_height": 64,
    "frame_stride": 8,
}


# --- the results file ----------------------------------------------------------------------


@dataclass
class Report:
    """The JSON document, rewritten after every step, and the timestamped progress lines."""

    path: Path
    started: float = field(default_factory=time.monotonic)
    data: dict[str, Any] = field(default_factory=dict)

    def elapsed(self) -> float:
        return time.monotonic() - self.started

    def say(self, message: str) -> None:
        now = datetime.now(UTC).strftime("%H:%M:%S")
        print(f"[{now} +{self.elapsed():6.1f}s] {message}", flush=True)

    def begin(self, step: str, what: str) -> None:
        """Mark the step under way in the file: a run cut short shows where it stopped."""
        self.data["in_progress"] = step
        self.say(f"{what} ...")
        self.write()

    def record(self, step: str, figures: dict[str, Any]) -> None:
        self.data.setdefault("steps", {})[step] = {
            **figures,
            "at_s": round(self.elapsed(), 1),
        }
        self.write()

    def check(self, name: str, passed: bool, detail: str) -> None:
        self.data.setdefault("checks", []).append(
            {"name": name, "passed": passed, "detail": detail}
        )
        self.say(f"{'PASS' if passed else 'FAIL'} {name}: {detail}")
        self.write()

    def write(self) -> None:
        self.data["elapsed_s"] = round(self.elapsed(), 1)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        partial = self.path.with_name(self.path.name + ".partial")
        partial.write_text(json.dumps(self.data, indent=2, default=str), encoding="utf-8")
        partial.replace(self.path)  # never a half-written file, even if killed mid-write


# --- steps ---------------------------------------------------------------------------------


def environment(device: torch.device) -> dict[str, Any]:
    import diffusers
    import transformers

    facts: dict[str, Any] = {
        "python": platform.python_version(),
        "torch": torch.__version__,
        "diffusers": diffusers.__version__,
        "transformers": transformers.__version__,
        "device": str(device),
    }
    if device.type == "cuda":
        free, total = torch.cuda.mem_get_info(device)
        facts |= {
            "gpu": torch.cuda.get_device_name(device),
            "gpu_total_gib": gib(total),
            "gpu_free_gib": gib(free),
            "cuda": torch.version.cuda,
        }
    return facts


def acceptance_options(tiny: bool) -> Any:
    """The default ``engine_options`` (only the device is named); tiny shapes on CPU."""
    from reelforge.engines.diffusion.options import DiffusersOptions, parse_options

    if not tiny:
        return parse_options({"device": "cuda"})
    defaults = DiffusersOptions()
    steps = {preset.name: 2 for preset in defaults.presets_in_use()}
    return parse_options({**TINY_OVERRIDES, "steps": steps})


def memory_plan(options: Any, device: torch.device, tiny: bool) -> Any:
    """The engine's own gate; tiny runs plan the full-size GPU configuration (not measured)."""
    from reelforge.engines.diffusion.plan import check_plan, plan_for

    if tiny:
        full = acceptance_options(tiny=False)
        return plan_for(full, None, device="cuda (planned only: tiny run on CPU)")
    return check_plan(options, device)


def plan_figures(plan: Any) -> dict[str, Any]:
    return {
        "summary": plan.summary(),
        "presets": [footprint.preset for footprint in plan.presets],
        "weights_gib": gib(plan.weights_bytes),
        "largest_job_gib": gib(plan.activation_bytes),
        "margin_gib": gib(plan.margin_bytes),
        "total_gib": gib(plan.total_bytes),
        "available_gib": None if plan.available_bytes is None else gib(plan.available_bytes),
        "parameters_b": round(plan.parameters / 1e9, 3),
        "components": [
            {"name": c.name, "weights": c.weights, "gib": gib(c.bytes), "presets": c.presets}
            for c in plan.components
        ],
        "notes": list(plan.notes),
    }


def build_engine(options: Any, device: torch.device, tiny: bool) -> tuple[Any, dict[str, Any]]:
    """Random-weight pipelines of every preset in use, wrapped by the engine's own code."""
    from bench.gpu.architectures import Builder, parameter_counts
    from reelforge.engines.diffusers_engine import DiffusersEngine
    from reelforge.engines.diffusion.loading import model_from_pipeline

    engine = DiffusersEngine(options)
    dtype = torch.float32 if tiny else torch.bfloat16
    builder = Builder(device, dtype, tiny)
    parameters = 0
    for preset in options.presets_in_use():
        pipeline, upsampler = builder.pipeline(preset)
        if not (preset.distilled and options.two_stage):
            upsampler = None  # the engine loads the upsampler only for the two-stage recipe
        source = f"random weights, {preset.hub_id} architecture (published.json)"
        engine.adopt(preset.name, model_from_pipeline(preset, pipeline, options, upsampler, source))
    for module in builder.shared.values():
        parameters += sum(p.numel() for p in module.parameters())
    figures = {"modules_built": builder.built, "parameters": parameters}
    if tiny:
        first = engine._models[options.presets_in_use()[0].name]
        figures["parameters_per_module"] = parameter_counts(first.text_to_video, first.upsampler)
    return engine, figures


def device_memory(device: torch.device) -> dict[str, float | None]:
    if device.type != "cuda":
        return {"allocated_gib": None, "reserved_gib": None}
    torch.cuda.synchronize(device)
    return {
        "allocated_gib": gib(torch.cuda.memory_allocated(device)),
        "reserved_gib": gib(torch.cuda.memory_reserved(device)),
    }


@dataclass
class Bench:
    """Everything the job step needs: the engine, the runtime, the report, the clock."""

    engine: Any
    runtime: Any
    report: Report
    device: torch.device
    budget_s: float
    warm_up: bool = True
    engine_seconds: list[float] = field(default_factory=list)


def open_runtime(data_dir: Path, options: Any) -> Any:
    from reelforge.core.config import Settings
    from reelforge.core.runtime import Runtime

    settings = Settings(
        data_dir=data_dir,
        engine="diffusers",
        engine_options=options.model_dump(exclude_defaults=True),
        policy_semantic="off",  # the API's prompt checks are not on this path
    )
    return Runtime.open(settings)


def new_worker(bench: Bench) -> Any:
    """A worker per job: ``run_until_idle`` starts (and stops) its heartbeat once per worker.
    They share the engine, loaded once, as a worker process's slots do."""
    from reelforge.worker import Worker

    return Worker(bench.runtime, bench.engine)


def time_engine_calls(engine: Any, timer: Callable[[], float], into: list[float]) -> None:
    """Record each ``generate`` call's seconds (the worker calls it; encode and upload follow)."""
    generate = engine.generate

    def timed(*args: Any, **kwargs: Any) -> Any:
        started = timer()
        try:
            return generate(*args, **kwargs)
        finally:
            into.append(timer() - started)

    engine.generate = timed


def synchronized_clock(device: torch.device) -> Callable[[], float]:
    def now() -> float:
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        return time.perf_counter()

    return now


def input_image(width: int = 1280, height: int = 720) -> npt.NDArray[np.uint8]:
    """A smooth gradient with a white square: frame 0 must reproduce it where it was."""
    x = np.linspace(0, 255, width, dtype=np.float32)[None, :]
    y = np.linspace(0, 255, height, dtype=np.float32)[:, None]
    image = np.stack(
        [
            np.broadcast_to(x, (height, width)),
            np.broadcast_to(y, (height, width)),
            np.full((height, width), 96, dtype=np.float32),
        ],
        axis=-1,
    )
    image[300:340, 600:640] = 255
    return image.astype(np.uint8)


def model_name_for(options: Any, preset_name: str) -> str:
    """An API model name the configuration serves with ``preset_name``."""
    from reelforge.domain.limits import MODEL_NAMES

    for name in MODEL_NAMES:
        if options.preset_for_model(name).name == preset_name:
            return str(name)
    raise ValueError(f"no API model name maps to preset {preset_name}")


def enqueue(bench: Bench, model: str, image: npt.NDArray[np.uint8] | None) -> str:
    from reelforge.domain.specs import GenerationSpec
    from reelforge.storage import layout

    job_id = str(uuid.uuid4())
    key = None
    if image is not None:
        png = io.BytesIO()
        Image.fromarray(image).save(png, format="PNG")
        key = layout.first_frame_key(job_id)
        bench.runtime.blobs.put_bytes(key, png.getvalue())
    spec = GenerationSpec.build(PROMPT, model=model, seconds=SECONDS, seed=7, first_frame_key=key)
    bench.runtime.database.enqueue(spec, owner=None, job_id=job_id)
    return job_id


def run_job(bench: Bench, preset: str, model: str, mode: str) -> dict[str, Any]:
    """Enqueue one job, let the worker run it, probe what it stored."""
    image = input_image() if mode == "image-to-video" else None
    job_id = enqueue(bench, model, image)
    if bench.device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(bench.device)
    clock = synchronized_clock(bench.device)
    started = clock()
    ran = new_worker(bench).run_until_idle()
    wall = clock() - started
    job = bench.runtime.store.get_job(job_id)
    figures: dict[str, Any] = {
        "preset": preset,
        "model": model,
        "mode": mode,
        "seconds": SECONDS,
        "jobs_run": ran,
        "status": str(job.status.value),
        "error": job.error_message,
        "job_wall_s": round(wall, 2),
        "engine_s": round(bench.engine_seconds[-1], 2) if bench.engine_seconds else None,
        "gpu_s_per_video_s": round(wall / SECONDS, 3),
        "peak_reserved_gib": peak_reserved(bench.device),
        "peak_allocated_gib": peak_allocated(bench.device),
    }
    if job.outputs is not None:
        figures |= probe_output(bench, job.outputs.video, image)
    return figures


def probe_output(bench: Bench, key: str, image: npt.NDArray[np.uint8] | None) -> dict[str, Any]:
    from reelforge.media import probe

    with tempfile.TemporaryDirectory() as scratch:
        path = Path(scratch) / "video.mp4"
        with bench.runtime.blobs.open(key) as source:
            path.write_bytes(source.read())
        info = probe(path)
        figures: dict[str, Any] = {
            "video": f"{info.width}x{info.height} {info.video_codec} {info.fps:g} fps",
            "width": info.width,
            "height": info.height,
            "frame_count": info.frame_count,
            "duration_s": info.duration,
            "audio": f"{info.audio_codec} {info.audio_channels} ch {info.audio_sample_rate} Hz",
            "audio_duration_s": info.audio_duration,
            "tags": info.tags,
        }
        if image is not None:
            figures["frame0_mean_abs_diff"] = round(frame0_difference(path, image), 2)
    return figures


def frame0_difference(path: Path, image: npt.NDArray[np.uint8]) -> float:
    import av

    with av.open(str(path)) as container:
        frame = next(container.decode(video=0)).to_ndarray(format="rgb24")
    return float(np.abs(frame.astype(np.int16) - image.astype(np.int16)).mean())


def peak_reserved(device: torch.device) -> float | None:
    """Peak memory the caching allocator held: what the process really takes from the GPU."""
    return gib(torch.cuda.max_memory_reserved(device)) if device.type == "cuda" else None


def peak_allocated(device: torch.device) -> float | None:
    return gib(torch.cuda.max_memory_allocated(device)) if device.type == "cuda" else None


def gib(value: int) -> float:
    return round(value / 2**30, 2)


# --- checks --------------------------------------------------------------------------------


def check_job(report: Report, job: dict[str, Any]) -> None:
    name = f"{job['preset']} {job['mode']}"
    if job["status"] != "completed":
        report.check(f"{name} completed", False, f"{job['status']}: {job['error']}")
        return
    shape = (job["width"], job["height"], job["frame_count"])
    report.check(
        f"{name} MP4 1280x720 x {24 * SECONDS} frames",
        shape == (1280, 720, 24 * SECONDS) and abs(job["duration_s"] - SECONDS) < 0.05,
        f"{job['video']}, {job['frame_count']} frames, {job['duration_s']} s",
    )
    audio_s = job["audio_duration_s"]
    report.check(
        f"{name} audio",
        job["audio"].startswith("aac 2 ch")
        and audio_s is not None
        and abs(audio_s - SECONDS) < 0.05,
        f"{job['audio']}, {audio_s} s",
    )
    if "frame0_mean_abs_diff" in job:
        diff = job["frame0_mean_abs_diff"]
        report.check(
            f"{name} frame 0 is the input",
            diff <= FRAME0_MAX_MEAN_ABS_DIFF,
            f"mean |frame0 - input| = {diff} (limit {FRAME0_MAX_MEAN_ABS_DIFF})",
        )


def check_memory(
    report: Report, plan: Any, built: dict[str, Any], jobs: list[dict[str, Any]]
) -> None:
    if built.get("allocated_gib") is None:
        report.check("memory vs plan", True, "not measured: no GPU (tiny run on CPU)")
        return
    weights = gib(plan.weights_bytes)
    allocated = built["allocated_gib"]
    report.check(
        "weights vs plan",
        abs(allocated - weights) <= WEIGHTS_TOLERANCE * weights,
        f"allocated after build {allocated} GiB, planned weights {weights} GiB",
    )
    peaks = [job["peak_reserved_gib"] for job in jobs if job.get("peak_reserved_gib")]
    peak = max([built["reserved_gib"], *peaks])
    total = gib(plan.total_bytes)
    report.check(
        "peak reserved within plan",
        peak <= total,
        f"peak reserved {peak} GiB, plan total {total} GiB (plan sized for a 12 s job)",
    )
    report.data["memory"] = {"peak_reserved_gib": peak, "plan_total_gib": total}


# --- the run -------------------------------------------------------------------------------


def job_order(options: Any) -> Iterator[tuple[str, str, str]]:
    for preset in options.presets_in_use():
        model = model_name_for(options, preset.name)
        for mode in ("text-to-video", "image-to-video"):
            yield preset.name, model, mode


def run_jobs(bench: Bench, options: Any) -> list[dict[str, Any]]:
    """Each job in turn, its figures written at once; one that would overrun the budget is
    recorded as skipped."""
    jobs: list[dict[str, Any]] = []
    for preset, model, mode in job_order(options):
        expected = max((job["job_wall_s"] for job in jobs if job["preset"] == preset), default=0)
        if bench.report.elapsed() + expected > bench.budget_s:
            jobs.append(skipped_job(bench, preset, mode))
        else:
            bench.report.say(f"job {preset} {mode} (model {model}, {SECONDS} s) ...")
            jobs.append(run_job(bench, preset, model, mode))
            bench.report.say(
                f"job {preset} {mode}: {jobs[-1]['status']} in {jobs[-1]['job_wall_s']} s "
                f"({jobs[-1]['gpu_s_per_video_s']} GPU-s per video-s), "
                f"peak reserved {jobs[-1]['peak_reserved_gib']} GiB"
            )
        bench.report.record("jobs", {"jobs": jobs})
    return jobs


def skipped_job(bench: Bench, preset: str, mode: str) -> dict[str, Any]:
    error = f"time budget of {bench.budget_s:.0f} s would be exceeded"
    bench.report.say(f"skip {preset} {mode}: {error}")
    return {"preset": preset, "mode": mode, "status": "skipped", "job_wall_s": 0, "error": error}


def plan_step(options: Any, device: torch.device, tiny: bool, report: Report) -> Any:
    """The memory plan, or None after recording the engine's refusal line."""
    from reelforge.domain.errors import EngineLoadError

    report.begin("plan", "memory plan of the default configuration")
    try:
        plan = memory_plan(options, device, tiny)
    except EngineLoadError as exc:
        report.record("plan", {"refused": str(exc)})
        report.check("memory plan fits", False, str(exc))
        return None
    report.record("plan", plan_figures(plan))
    report.say(f"plan: {plan.summary()}")
    return plan


def build_step(options: Any, device: torch.device, tiny: bool, report: Report) -> Any:
    report.begin("build", "building random-weight pipelines of the presets in use")
    started = time.monotonic()
    engine, built = build_engine(options, device, tiny)
    built |= {"build_s": round(time.monotonic() - started, 1), **device_memory(device)}
    report.record("build", built)
    report.say(
        f"built in {built['build_s']} s: {built['parameters'] / 1e9:.3f} B parameters, "
        f"allocated {built['allocated_gib']} GiB, reserved {built['reserved_gib']} GiB"
    )
    return engine


def worker_step(bench: Bench, options: Any) -> list[dict[str, Any]]:
    """Load through a real worker, then run the jobs; nothing runs if the load fails."""
    report = bench.report
    report.begin("worker", "worker: load_engine() on SQLite and local blobs")
    time_engine_calls(bench.engine, synchronized_clock(bench.device), bench.engine_seconds)
    worker = new_worker(bench)
    ready = worker.load_engine()
    facts = {"ready": ready, "error": worker.engine_error, "engine": bench.engine.describe()}
    report.record("worker", facts)
    report.check("worker loads the engine", ready, worker.engine_error or "ready")
    if not ready:
        return []
    if bench.warm_up:
        warm_up_step(bench, options)
    report.begin("jobs", "jobs through the worker")
    return run_jobs(bench, options)


class QuietControl:
    """The job control of warm-up calls: nobody watches them and nothing stops them."""

    def step(self, done: float, total: float, stage: str = "") -> None:
        pass

    def log(self, message: str) -> None:
        pass


def warm_up_step(bench: Bench, options: Any) -> None:
    """One text-to-video engine call per preset before the jobs, timed on its own.

    First calls pay one-off costs (CUDA context and cuBLAS handles, cuDNN autotuning of the VAE
    convolutions, the allocator growing its pool): here they are a figure of their own, the cold
    start, instead of inflating the first job's GPU-seconds per video-second.
    """
    from reelforge.domain.specs import GenerationSpec
    from reelforge.engines.base import EngineRequest

    bench.report.begin("warm_up", "warm-up: one engine call per preset, timed apart from the jobs")
    clock = synchronized_clock(bench.device)
    seconds: dict[str, float | str] = {}
    for preset in options.presets_in_use():
        if bench.report.elapsed() > bench.budget_s:
            seconds[preset.name] = "skipped: time budget"
            continue
        model = model_name_for(options, preset.name)
        spec = GenerationSpec.build(PROMPT, model=model, seconds=SECONDS, seed=1)
        started = clock()
        bench.engine.generate(EngineRequest(spec, None), QuietControl())
        seconds[preset.name] = round(clock() - started, 2)
        bench.report.say(f"warm-up {preset.name}: {seconds[preset.name]} s")
    bench.report.record("warm_up", {"engine_s": seconds})


def verdict(report: Report, plan: Any, jobs: list[dict[str, Any]], budget_s: float) -> bool:
    for job in jobs:
        if job["status"] != "skipped":
            check_job(report, job)
    check_memory(report, plan, report.data["steps"]["build"], jobs)
    done = [job for job in jobs if job["status"] == "completed"]
    report.check(
        "every job ran",
        len(done) == len(jobs) and bool(jobs),
        f"{len(done)} of {len(jobs)} jobs completed",
    )
    report.check(
        "within the time budget",
        report.elapsed() <= budget_s,
        f"{report.elapsed():.0f} s of "
        + ("no limit (--tiny)" if math.isinf(budget_s) else f"{budget_s:.0f} s"),
    )
    report.data["summary"] = {
        f"{job['preset']} {job['mode']}": {key: job.get(key) for key in SUMMARY_KEYS}
        for job in jobs
    }
    return all(check["passed"] for check in report.data.get("checks", []))


def run(args: argparse.Namespace, report: Report) -> bool:
    device = torch.device("cpu" if args.tiny else "cuda")
    report.data["mode"] = "tiny (CPU smoke run)" if args.tiny else "full size (GPU)"
    report.record("environment", environment(device))
    report.say(f"environment: {report.data['steps']['environment']}")
    options = acceptance_options(args.tiny)
    plan = plan_step(options, device, args.tiny, report)
    if plan is None:
        return False
    engine = build_step(options, device, args.tiny, report)
    with tempfile.TemporaryDirectory(prefix="reelforge-acceptance-") as data_dir:
        runtime = open_runtime(Path(data_dir), options)
        try:
            bench = Bench(engine, runtime, report, device, args.budget_s, args.warm_up)
            jobs = worker_step(bench, options)
        finally:
            runtime.close()
    report.begin("verdict", "checks")
    return verdict(report, plan, jobs, args.budget_s)


def default_out() -> Path:
    """Under ``$OUT`` when set (the GPU machine's returned folder), else the working directory."""
    return Path(os.environ.get("OUT") or ".") / "acceptance.json"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--tiny", action="store_true", help="CPU, tiny pipelines (CI)")
    parser.add_argument(
        "--out",
        type=Path,
        default=None,
        help="results JSON (default: $OUT/acceptance.json, else ./acceptance.json)",
    )
    parser.add_argument(
        "--budget-s",
        type=float,
        default=None,
        help=f"skip jobs that would end after this many seconds (default {DEFAULT_BUDGET_S:g} "
        "on a GPU; none with --tiny, whose CPU seconds say nothing about a GPU's)",
    )
    parser.add_argument(
        "--no-warm-up",
        dest="warm_up",
        action="store_false",
        help="no engine call before the jobs: the first job then pays the cold start",
    )
    args = parser.parse_args(argv)
    if args.budget_s is None:
        args.budget_s = math.inf if args.tiny else DEFAULT_BUDGET_S
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if not args.tiny and not torch.cuda.is_available():
        print(
            "acceptance: no CUDA GPU visible to torch (torch "
            f"{torch.__version__}); run it on a GPU machine with a CUDA build of torch, "
            "or pass --tiny for the CPU smoke run",
            file=sys.stderr,
        )
        return 2
    report = Report(args.out or default_out())
    report.data["started_utc"] = datetime.now(UTC).isoformat(timespec="seconds")
    report.say(
        f"acceptance ({'tiny, CPU' if args.tiny else 'full size, GPU'}); results in {report.path}"
    )
    try:
        passed = run(args, report)
    except Exception as exc:  # the figures so far stay in the file, with what stopped the run
        report.data["error"] = "".join(traceback.format_exception(exc))
        report.data["passed"] = False
        report.write()
        raise
    report.data["passed"] = passed
    report.data.pop("in_progress", None)
    report.write()
    report.say(f"{'PASSED' if passed else 'FAILED'} in {report.elapsed():.0f} s; {report.path}")
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())
