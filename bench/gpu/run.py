"""GPU benchmark: whole ReelForge jobs on full-size LTX-2.3 / Wan2.2-5B with random weights.

    python -m bench.gpu.run                      # on a GPU: both models, 4/8/12 s at 720p
    python -m bench.gpu.run --family ltx2 --seconds 4 --compile --attention-backend _native_cudnn
    python -m bench.gpu.run --tiny               # CPU smoke run, tiny shapes: not a speed figure

A job is what a worker does: text encoding, denoising, decode, fitting to the contract and the MP4
encode (``reelforge.media.render_media``). Reported per run: GPU-seconds per second of video
(median of ``--repeats`` timed jobs after one warm-up job), counted FLOPs and achieved TFLOP/s,
peak reserved GPU memory, and the ratio to stock diffusers defaults: a *separately built*
pipeline (no compile, no fp8, default attention, untiled decode) called with its own default
recipe, warmed up and repeated the same way. The stock run is measured for ``--baseline-steps``
steps and extrapolated to its default step count from the measured per-step time (marked
"extrapolated"). An out-of-memory error (e.g. the untiled stock decode of 12 s) is a result:
the row says so instead of the run crashing.
"""

from __future__ import annotations

import argparse
import gc
import json
import statistics
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch

from bench.gpu.architectures import build_pipeline, parameter_counts
from bench.gpu.flops import CallRecorder
from reelforge.domain.errors import EngineError
from reelforge.domain.specs import GenerationSpec
from reelforge.engines.base import EngineRequest
from reelforge.engines.diffusers_engine import DiffusersEngine
from reelforge.engines.diffusion.failures import EngineOutOfMemory, is_out_of_memory
from reelforge.engines.diffusion.loading import model_from_pipeline
from reelforge.engines.diffusion.options import parse_options
from reelforge.engines.diffusion.presets import PRESETS
from reelforge.media import render_media

H100_ACHIEVABLE_TFLOPS = 800.0
PROMPT = "a fox runs through snow, waves crash"
PRESET_BY_RECIPE = {
    ("ltx2", "distilled"): "ltx2",
    ("ltx2", "full"): "ltx2-full",
    ("wan", "distilled"): "wan22-5b",
    ("wan", "full"): "wan22-5b",
}
# Stock diffusers defaults: the full LTX-2.3 recipe (30 steps, CFG + STG + modality) and Wan's.
STOCK_PRESET = {"ltx2": "ltx2-full", "wan": "wan22-5b"}


@dataclass
class Result:
    family: str
    preset: str
    seconds: int
    mode: str
    wall_s: float | None
    gpu_s_per_video_s: float | None
    transformer_calls: int
    counted_tflop: float | None
    achieved_tflops: float | None
    peak_reserved_gib: float | None
    repeats_s: list[float] = field(default_factory=list)
    levers: dict[str, str] = field(default_factory=dict)
    note: str = ""


class Timer:
    """Wall clock around device work (synchronizing CUDA so queued kernels are counted)."""

    def __init__(self, device: torch.device) -> None:
        self.device = device

    def now(self) -> float:
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)
        return time.perf_counter()


class StepClock:
    """JobControl that timestamps each denoising step (for per-step times and extrapolation)."""

    def __init__(self, timer: Timer) -> None:
        self.timer = timer
        self.steps: list[float] = []

    def step(self, done: float, total: float, stage: str = "") -> None:
        if stage.startswith("denoise"):
            self.steps.append(self.timer.now())

    def log(self, message: str) -> None:
        pass

    def per_step(self) -> float:
        return (self.steps[-1] - self.steps[0]) / max(len(self.steps) - 1, 1)


@dataclass
class Run:
    """One engine (its pipeline built for this run alone) and how its jobs are called."""

    engine: DiffusersEngine
    mode: str
    levers: dict[str, str]
    steps: int | None = None
    """Stock runs: steps actually run (extrapolated to the preset's default afterwards)."""


def engine_options(args: argparse.Namespace, preset: str, stock: bool) -> dict[str, Any]:
    options: dict[str, Any] = {
        "preset": preset,
        "models": {},
        "device": "cpu" if args.tiny else "cuda",
        "compile": args.compile and not stock,
        "attention_backend": None if stock else args.attention_backend,
        "vae_tiling": not stock,
        "two_stage": not stock and args.recipe == "distilled",
    }
    if stock:
        options["steps"] = {preset: args.baseline_steps}
    if args.tiny:
        options |= {"gen_width": 64, "gen_height": 64, "frame_stride": 8, "dtype": "float32"}
        options["steps"] = {preset: 2}
    return options


def apply_fp8(pipeline: Any) -> str:
    try:
        from torchao.quantization import (  # type: ignore[import-not-found]
            Float8DynamicActivationFloat8WeightConfig,
            quantize_,
        )
    except ImportError:
        return "unavailable (pip install torchao)"
    quantize_(pipeline.transformer, Float8DynamicActivationFloat8WeightConfig())
    return "on (torchao float8 dynamic activation + weight)"


def lever_record(args: argparse.Namespace, family: str, fp8: str) -> dict[str, str]:
    cfg = (
        "inherent (LTX2Pipeline batches cond/uncond)"
        if family == "ltx2"
        else ("not available: WanPipeline runs cond and uncond passes sequentially")
    )
    return {
        "recipe": args.recipe,
        "compile_repeated_blocks": str(args.compile),
        "attention_backend": args.attention_backend or "default",
        "fp8": fp8,
        "cfg_batching": cfg if args.cfg_batching else "not requested",
        "vae_tiling": "True",
    }


def build_run(args: argparse.Namespace, family: str, stock: bool) -> Run:
    """A freshly built pipeline for this run alone: the stock run never sees the levers."""
    device = torch.device("cpu" if args.tiny else "cuda")
    preset = STOCK_PRESET[family] if stock else PRESET_BY_RECIPE[(family, args.recipe)]
    pipeline, upsampler = build_pipeline(preset, device, torch.bfloat16, args.tiny)
    if stock:
        upsampler = None  # the stock recipe is single-stage
        pipeline.vae.disable_tiling()
    fp8 = "off" if stock or not args.fp8 else apply_fp8(pipeline)
    options = parse_options(engine_options(args, preset, stock))
    engine = DiffusersEngine(options)
    engine.adopt(preset, model_from_pipeline(PRESETS[preset], pipeline, options, upsampler))
    if stock:  # tiny runs keep their 2 steps: nothing to extrapolate
        steps = None if args.tiny else args.baseline_steps
        return Run(engine, "stock diffusers defaults", {"recipe": "stock"}, steps)
    return Run(engine, "reelforge", lever_record(args, family, fp8))


def run_job(run: Run, spec: GenerationSpec, timer: Timer) -> tuple[float, StepClock]:
    clock = StepClock(timer)
    with tempfile.TemporaryDirectory() as workdir:
        started = timer.now()
        clip = run.engine.generate(EngineRequest(spec, None), clock)
        render_media(clip, spec, Path(workdir))
        return timer.now() - started, clock


def out_of_memory(exc: BaseException) -> bool:
    return isinstance(exc, EngineOutOfMemory) or is_out_of_memory(exc)


def timed_jobs(
    run: Run, spec: GenerationSpec, timer: Timer, repeats: int, recorders: list[CallRecorder]
) -> list[tuple[float, StepClock]]:
    """One warm-up job (compile, autotune, caches), then ``repeats`` timed jobs.

    The recorders wrap the first timed job only (FLOPs are counted afterwards from it).
    """
    pipeline: Any = run.engine._models[run.engine.options.preset].text_to_video
    run_job(run, spec, timer)
    if timer.device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(timer.device)
    recorders[0].wrap(pipeline.transformer, "forward")
    recorders[1].wrap(pipeline.vae, "decode")
    try:
        timed = [run_job(run, spec, timer)]
    finally:
        for recorder in recorders:
            recorder.unwrap()
    return timed + [run_job(run, spec, timer) for _ in range(repeats - 1)]


def measure(run: Run, spec: GenerationSpec, timer: Timer, repeats: int) -> Result:
    """The median of the timed jobs; an out-of-memory error is recorded as the result."""
    model = run.engine._models[run.engine.options.preset]
    recorders = [CallRecorder("transformer"), CallRecorder("vae")]
    result = Result(
        model.family,
        run.engine.options.preset,
        spec.seconds,
        run.mode,
        None,
        None,
        0,
        None,
        None,
        None,
        levers=run.levers,
    )
    try:
        timed = timed_jobs(run, spec, timer, repeats, recorders)
    except (EngineError, RuntimeError) as exc:  # torch.OutOfMemoryError is a RuntimeError
        if not out_of_memory(exc):
            raise
        release(timer.device)
        result.peak_reserved_gib = peak_reserved(timer.device)
        result.note = f"out of memory: {str(exc).splitlines()[0][:160]}"
        return result
    walls = [wall for wall, _ in timed]
    result.peak_reserved_gib = peak_reserved(timer.device)
    result.repeats_s = [round(wall, 3) for wall in walls]
    result.wall_s = round(statistics.median(walls), 3)
    result.transformer_calls = recorders[0].call_count
    result.counted_tflop = count_tflop(recorders, timer.device)
    if run.steps is not None:
        per_step = statistics.median(clock.per_step() for _, clock in timed)
        extrapolate(result, run.steps, PRESETS[result.preset].steps, per_step)
    finish(result, spec)
    return result


def count_tflop(recorders: list[CallRecorder], device: torch.device) -> float | None:
    """Replays one call per shape; the untiled stock decode may not fit a second time."""
    try:
        return significant(sum(recorder.count_flops() for recorder in recorders) / 1e12)
    except RuntimeError as exc:
        if not is_out_of_memory(exc):
            raise
        release(device)
        return None


def extrapolate(result: Result, steps_run: int, default_steps: int, per_step: float) -> None:
    """Stock runs: add the steps not run, at the measured per-step time."""
    if default_steps <= steps_run or result.wall_s is None:
        return
    result.wall_s = round(result.wall_s + (default_steps - steps_run) * per_step, 3)
    calls_per_step = result.transformer_calls / steps_run
    if result.counted_tflop is not None:
        flops_per_call = result.counted_tflop / max(result.transformer_calls, 1)
        result.counted_tflop = significant(flops_per_call * calls_per_step * default_steps)
    result.transformer_calls = round(calls_per_step * default_steps)
    result.note = f"extrapolated from {steps_run} to {default_steps} steps"


def finish(result: Result, spec: GenerationSpec) -> None:
    if result.wall_s is None:
        return
    result.gpu_s_per_video_s = round(result.wall_s / spec.seconds, 3)
    if result.counted_tflop is not None:
        result.achieved_tflops = significant(result.counted_tflop / result.wall_s)


def peak_reserved(device: torch.device) -> float | None:
    """Peak memory the caching allocator held from the GPU: what other processes cannot use."""
    if device.type != "cuda":
        return None
    return round(torch.cuda.max_memory_reserved(device) / 2**30, 2)


def release(device: torch.device) -> None:
    gc.collect()
    if device.type == "cuda":
        torch.cuda.synchronize(device)
        torch.cuda.empty_cache()


def bench_mode(
    args: argparse.Namespace, family: str, stock: bool, report: Callable[[Result], None]
) -> list[Result]:
    """Every duration on one freshly built pipeline, which is freed before the next build."""
    device = torch.device("cpu" if args.tiny else "cuda")
    timer = Timer(device)
    run = build_run(args, family, stock)
    results = []
    try:
        for seconds in args.seconds:
            spec = GenerationSpec.build(PROMPT, seconds=seconds, seed=1)
            results.append(measure(run, spec, timer, args.repeats))
            report(results[-1])
    finally:
        del run
        release(device)
    return results


def bench_family(family: str, args: argparse.Namespace) -> list[Result]:
    def report(result: Result) -> None:
        print(json.dumps(asdict(result)), flush=True)

    levered = bench_mode(args, family, False, report)
    if not args.baseline:
        return levered
    stock = bench_mode(args, family, True, report)
    for ours, theirs in zip(levered, stock, strict=True):
        if ours.wall_s is not None and theirs.wall_s is not None:
            ours.note = f"stock / reelforge wall time = {theirs.wall_s / ours.wall_s:.2f}"
        elif ours.wall_s is not None:
            ours.note = "stock: " + theirs.note
    return [row for pair in zip(levered, stock, strict=True) for row in pair]


def significant(value: float) -> float:
    """Four significant digits: tiny smoke runs count MFLOPs, real runs PFLOPs."""
    return float(f"{value:.4g}")


def check_configs() -> None:
    """Build the full architectures on the meta device and print parameter counts (no memory)."""
    for preset in ("ltx2", "ltx2-full", "wan22-5b"):
        pipeline, upsampler = build_pipeline(preset, torch.device("meta"), torch.bfloat16, False)
        for name, count in parameter_counts(pipeline, upsampler).items():
            print(f"{preset:10} {name:18} {count / 1e9:8.3f} B parameters")


def markdown(results: list[Result]) -> str:
    lines = [
        "| model | preset | s | run | wall s (median) | GPU-s / video-s | transformer calls "
        "| counted TFLOP | TFLOP/s | peak reserved GiB | note |",
        "|" + "---|" * 11,
    ]
    for r in results:
        cells = [r.family, r.preset, r.seconds, r.mode, r.wall_s, r.gpu_s_per_video_s]
        cells += [r.transformer_calls, r.counted_tflop, r.achieved_tflops, r.peak_reserved_gib]
        shown = ["n/a" if cell is None else str(cell) for cell in cells]
        lines.append("| " + " | ".join([*shown, r.note]) + " |")
    return "\n".join(lines)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--tiny", action="store_true", help="CPU smoke run with tiny shapes")
    parser.add_argument("--family", choices=["ltx2", "wan", "both"], default="both")
    parser.add_argument("--seconds", type=int, nargs="+", default=[4, 8, 12])
    parser.add_argument(
        "--recipe",
        choices=["distilled", "full"],
        default="distilled",
        help="LTX-2: distilled two-stage (8+3 steps, no CFG) or full (CFG+STG)",
    )
    parser.add_argument("--repeats", type=int, default=3, help="timed jobs after the warm-up")
    parser.add_argument("--compile", action="store_true", help="compile_repeated_blocks")
    parser.add_argument("--attention-backend", default=None, help="e.g. _native_cudnn, flash")
    parser.add_argument("--fp8", action="store_true", help="FP8 transformer via torchao")
    parser.add_argument("--cfg-batching", action="store_true", help="record CFG batching")
    parser.add_argument("--no-baseline", dest="baseline", action="store_false")
    parser.add_argument("--baseline-steps", type=int, default=2)
    parser.add_argument(
        "--check-configs",
        action="store_true",
        help="build the full architectures on the meta device, print sizes",
    )
    parser.add_argument("--out", type=Path, default=None, help="write results as JSON")
    args = parser.parse_args()
    if args.repeats < 1 or args.baseline_steps < 1:
        parser.error("--repeats and --baseline-steps must be at least 1")
    return args


def main() -> None:
    args = parse_args()
    if args.check_configs:
        check_configs()
        return
    if not args.tiny and not torch.cuda.is_available():
        raise SystemExit("no CUDA GPU: run on a GPU machine, or pass --tiny for a CPU smoke run")
    families = ["ltx2", "wan"] if args.family == "both" else [args.family]
    results = [result for family in families for result in bench_family(family, args)]
    print(markdown(results))
    if args.tiny:
        print("\nSMOKE RUN on CPU with tiny random models: proves the harness, not a speed figure.")
    if args.out is not None:
        args.out.write_text(json.dumps([asdict(r) for r in results], indent=2), encoding="utf-8")


if __name__ == "__main__":
    main()
