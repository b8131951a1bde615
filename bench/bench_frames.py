"""Benchmark: getting decoded frames off the device, host path vs device path.

What the diffusers engine does with the VAE's output (a (1, 3, F, H, W) tensor in [0, 1]) until
delivery has 1280x720 uint8 frames:

- ``host`` (``frames_on_device = false``, the old path): diffusers' ``output_type="np"`` copies
  the whole clip to the host as float32, then ``to_uint8`` and a per-frame center crop run on
  one host thread, over every generated frame;
- ``device`` (``frames_on_device = true``): ``output_type="pt"``, then ``frames_to_host`` drops
  the frames delivery never shows, crops to the target and converts to uint8 on the device,
  so only the delivered uint8 bytes cross to the host (a quarter of float32's).

On a CPU both paths run on the CPU, so this measures the conversion itself (fewer passes,
uint8 early); on a GPU the device path also moves the arithmetic to the GPU and shrinks the
copy 4x, so the ratio there can only be larger. Each timing is the best of ``--repeat`` runs.

Usage: ``python bench/bench_frames.py [--seconds 4 8] [--dtype float32 bfloat16] [--repeat 3]``
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable

import torch

from reelforge.domain.specs import GenerationSpec
from reelforge.engines.diffusion.geometry import (
    GenerationPlan,
    deliver_frames,
    plan_generation,
    to_uint8,
)
from reelforge.engines.diffusion.runners import frames_to_host

# Two-stage LTX-2 generates 1280x768 for 1280x720 (multiples of 64), 8k+1 frames.
MULTIPLE, TEMPORAL_RATIO = 64, 8


def host_path(video: torch.Tensor, plan: GenerationPlan) -> int:
    # what VideoProcessor.postprocess_video(output_type="np") does: float32 on the host
    frames = video[0].permute(1, 2, 3, 0).float().numpy()
    delivered = deliver_frames(to_uint8(frames), plan)
    return sum(frame.shape[0] for frame in delivered)


def device_path(video: torch.Tensor, plan: GenerationPlan) -> int:
    # what VideoProcessor.postprocess_video(output_type="pt") returns: (F, C, H, W)
    frames = frames_to_host(video[0].permute(1, 0, 2, 3), plan)
    delivered = deliver_frames(frames, plan)
    return sum(frame.shape[0] for frame in delivered)


def best_of(repeat: int, work: Callable[[], int]) -> float:
    timings = []
    for _ in range(repeat):
        start = time.perf_counter()
        work()
        timings.append(time.perf_counter() - start)
    return min(timings)


def bench(seconds: int, dtype: torch.dtype, repeat: int) -> dict[str, object]:
    spec = GenerationSpec.build("x", seconds=seconds, seed=1)
    plan = plan_generation(spec, MULTIPLE, TEMPORAL_RATIO)
    generator = torch.Generator().manual_seed(0)
    shape = (1, 3, plan.num_frames, plan.height, plan.width)
    video = torch.rand(shape, generator=generator).to(dtype)
    host = best_of(repeat, lambda: host_path(video, plan))
    device = best_of(repeat, lambda: device_path(video, plan))
    return {
        "seconds": seconds,
        "dtype": str(dtype).removeprefix("torch."),
        "generated": f"{plan.num_frames}x{plan.width}x{plan.height}",
        "host_s": round(host, 3),
        "device_s": round(device, 3),
        "host_over_device": round(host / device, 2),
        "torch_threads": torch.get_num_threads(),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, nargs="+", default=[4, 8])
    parser.add_argument("--dtype", nargs="+", default=["float32", "bfloat16"])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    for seconds in args.seconds:
        for dtype in args.dtype:
            print(json.dumps(bench(seconds, getattr(torch, dtype), args.repeat)), flush=True)


if __name__ == "__main__":
    main()
