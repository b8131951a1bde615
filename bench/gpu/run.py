"""GPU benchmark: whole ReelForge jobs on full-size LTX-2 / Wan2.2-5B with random weights.

    python -m bench.gpu.run                      # on a GPU: both models, 4/8/12 s at 720p
    python -m bench.gpu.run --family ltx2 --seconds 4 --compile --attention-backend _native_cudnn
    python -m bench.gpu.run --tiny               # CPU smoke run, tiny shapes: not a speed figure

A job is what a worker does: text encoding, denoising, decode, fitting to the contract and the MP4
encode (``reelforge.media.render_media``). Reported per run: GPU-seconds per second of video,
counted FLOPs and achieved TFLOP/s, peak GPU memory, and the ratio to stock diffusers defaults
(the same pipeline called with its own default recipe and no levers) measured in the same process.
The stock run is measured for ``--baseline-steps`` steps and extrapolated to its default step
count from the measured per-step time (marked "extrapolated").
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch

from bench.gpu.architectures import build_pipeline
from bench.gpu.flops import CallRecorder
from reelforge.domain.specs import GenerationSpec
from reelforge.engines.base import EngineRequest
from reelforge.engines.diffusers_engine import DiffusersEngine
from reelforge.engines.diffusion.loading import model_from_pipeline
from reelforge.engines.diffusion.options import parse_options
from reelforge.engines.diffusion.presets import PRESETS
from reelforge.media import render_media

H100_ACHIEVABLE_TFLOPS = 800.0
PRESET_BY_RECIPE = {
    ("ltx2", "distilled"): "ltx2",
    ("ltx2", "full"): "ltx2-full",
    ("wan", "distilled"): "wan22-5b",
    ("wan", "full"): "wan22-5b",
}


@dataclass
class Result:
    family: str
    preset: str
    seconds: int
    mode: str
    wall_s: float
    gpu_s_per_video_s: float
    transformer_calls: int
    counted_tflop: float
    achieved_tflops: float
    peak_gpu_gib: float | None
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


def engine_options(args: argparse.Namespace, family: str) -> dict[str, Any]:
    preset = PRESET_BY_RECIPE[(family, args.recipe)]
    options: dict[str, Any] = {
        "preset": preset,
        "models": {},
        "device": "cpu" if args.tiny else "cuda",
        "compile": args.compile,
        "attention_backend": args.attention_backend,
        "vae_tiling": True,
        "two_stage": args.recipe == "distilled",
    }
    if args.tiny:
        options |= {
            "gen_width": 64,
            "gen_height": 64,
            "frame_stride": 8,
            "steps": {preset: 2},
            "dtype": "float32",
        }
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


def levers(args: argparse.Namespace, family: str, fp8: str) -> dict[str, str]:
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


def run_job(
    engine: DiffusersEngine, spec: GenerationSpec, timer: Timer, workdir: Path
) -> tuple[float, StepClock]:
    clock = StepClock(timer)
    started = timer.now()
    clip = engine.generate(EngineRequest(spec, None), clock)
    render_media(clip, spec, workdir)
    return timer.now() - started, clock


def measure(
    engine: DiffusersEngine,
    spec: GenerationSpec,
    timer: Timer,
    mode: str,
    lever_record: dict[str, str],
    note: str = "",
) -> Result:
    model = engine._models[engine.options.preset]
    pipeline: Any = model.text_to_video
    recorders = [CallRecorder("transformer"), CallRecorder("vae")]
    recorders[0].wrap(pipeline.transformer, "forward")
    recorders[1].wrap(pipeline.vae, "decode")
    if timer.device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(timer.device)
    with tempfile.TemporaryDirectory() as workdir:
        wall, _ = run_job(engine, spec, timer, Path(workdir))
    peak = (
        torch.cuda.max_memory_allocated(timer.device) / 2**30
        if timer.device.type == "cuda"
        else None
    )
    flops = sum(recorder.count_flops() for recorder in recorders)
    for recorder in recorders:
        recorder.unwrap()
    return Result(
        family=model.family,
        preset=engine.options.preset,
        seconds=spec.seconds,
        mode=mode,
        wall_s=round(wall, 3),
        gpu_s_per_video_s=round(wall / spec.seconds, 3),
        transformer_calls=recorders[0].call_count,
        counted_tflop=significant(flops / 1e12),
        achieved_tflops=significant(flops / 1e12 / wall),
        peak_gpu_gib=peak and round(peak, 2),
        levers=lever_record,
        note=note,
    )


def stock_baseline(
    pipeline: Any,
    upsampler: Any,
    family: str,
    spec: GenerationSpec,
    args: argparse.Namespace,
    timer: Timer,
) -> Result:
    """Stock diffusers: the pipeline's own default recipe, no levers, measured for K steps."""
    stock = "ltx2-full" if family == "ltx2" else "wan22-5b"
    options = engine_options(args, family) | {
        "preset": stock,
        "compile": False,
        "attention_backend": None,
        "vae_tiling": False,
        "two_stage": False,
        "steps": {stock: args.baseline_steps},
    }
    pipeline.vae.disable_tiling()
    engine = DiffusersEngine(parse_options(options))
    engine.adopt(stock, model_from_pipeline(PRESETS[stock], pipeline, engine.options, upsampler))
    default_steps = PRESETS[stock].steps
    result = measure(engine, spec, timer, "stock diffusers defaults", {"recipe": "stock"})
    clock = StepClock(timer)
    with tempfile.TemporaryDirectory() as workdir:
        _, clock = run_job(engine, spec, timer, Path(workdir))
    per_step = (clock.steps[-1] - clock.steps[0]) / max(len(clock.steps) - 1, 1)
    extra = (default_steps - args.baseline_steps) * per_step if not args.tiny else 0.0
    if extra:
        result.wall_s = round(result.wall_s + extra, 3)
        result.gpu_s_per_video_s = round(result.wall_s / spec.seconds, 3)
        calls_per_step = result.transformer_calls / args.baseline_steps
        flops_per_call = result.counted_tflop / max(result.transformer_calls, 1)
        result.transformer_calls = round(calls_per_step * default_steps)
        result.counted_tflop = significant(flops_per_call * result.transformer_calls)
        result.achieved_tflops = significant(result.counted_tflop / result.wall_s)
        result.note = f"extrapolated from {args.baseline_steps} to {default_steps} steps"
    pipeline.vae.enable_tiling()
    return result


def bench_family(family: str, args: argparse.Namespace) -> list[Result]:
    device = torch.device("cpu" if args.tiny else "cuda")
    timer = Timer(device)
    pipeline, upsampler = build_pipeline(family, device, torch.bfloat16, args.tiny)
    fp8 = apply_fp8(pipeline) if args.fp8 else "off"
    options = parse_options(engine_options(args, family))
    engine = DiffusersEngine(options)
    preset = PRESETS[options.preset]
    engine.adopt(preset.name, model_from_pipeline(preset, pipeline, options, upsampler))
    record = levers(args, family, fp8)
    results = []
    for seconds in args.seconds:
        spec = GenerationSpec.build("a fox runs through snow, waves crash", seconds=seconds, seed=1)
        with tempfile.TemporaryDirectory() as workdir:  # warm-up: compile, autotune, caches
            run_job(engine, spec, timer, Path(workdir))
        results.append(measure(engine, spec, timer, "reelforge", record))
        if args.baseline:
            baseline = stock_baseline(pipeline, upsampler, family, spec, args, timer)
            results.append(baseline)
            ratio = baseline.wall_s / results[-2].wall_s
            results[-2].note = f"stock / reelforge wall time = {ratio:.2f}"
        print(json.dumps(asdict(results[-1 - int(args.baseline)])), flush=True)
    return results


def significant(value: float) -> float:
    """Four significant digits: tiny smoke runs count MFLOPs, real runs PFLOPs."""
    return float(f"{value:.4g}")


def check_configs() -> None:
    """Build the full architectures on the meta device and print parameter counts (no memory)."""
    for family in ("ltx2", "wan"):
        pipeline, upsampler = build_pipeline(family, torch.device("meta"), torch.bfloat16, False)
        modules = dict(pipeline.components)
        if upsampler is not None:
            modules["latent_upsampler"] = upsampler.latent_upsampler
        for name, module in modules.items():
            if isinstance(module, torch.nn.Module):
                billions = sum(p.numel() for p in module.parameters()) / 1e9
                print(f"{family:5} {name:18} {billions:8.3f} B parameters")


def markdown(results: list[Result]) -> str:
    lines = [
        "| model | preset | s | run | wall s | GPU-s / video-s | transformer calls "
        "| counted TFLOP | TFLOP/s | peak GiB | note |",
        "|" + "---|" * 11,
    ]
    for r in results:
        lines.append(
            f"| {r.family} | {r.preset} | {r.seconds} | {r.mode} | {r.wall_s} | "
            f"{r.gpu_s_per_video_s} | {r.transformer_calls} | {r.counted_tflop} | "
            f"{r.achieved_tflops} | {r.peak_gpu_gib if r.peak_gpu_gib is not None else 'n/a'} "
            f"| {r.note} |"
        )
    return "\n".join(lines)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tiny", action="store_true", help="CPU smoke run with tiny shapes")
    parser.add_argument("--family", choices=["ltx2", "wan", "both"], default="both")
    parser.add_argument("--seconds", type=int, nargs="+", default=[4, 8, 12])
    parser.add_argument(
        "--recipe",
        choices=["distilled", "full"],
        default="distilled",
        help="LTX-2: distilled two-stage (8+3 steps, no CFG) or full (CFG+STG)",
    )
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
    return parser.parse_args()


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
