"""Turning pipeline failures into engine errors, and freeing the GPU after any failure."""

from __future__ import annotations

import gc
from typing import TYPE_CHECKING

from reelforge.domain.errors import EngineError

if TYPE_CHECKING:
    import torch


class EngineOutOfMemory(EngineError):
    """The accelerator ran out of memory; the message lists the levers that reduce it."""

    code = "out_of_memory"


def is_out_of_memory(exc: BaseException) -> bool:
    import torch

    if isinstance(exc, torch.OutOfMemoryError):
        return True
    # Some kernels (cuDNN, MPS) report OOM as a plain RuntimeError.
    return isinstance(exc, RuntimeError) and "out of memory" in str(exc).lower()


def as_engine_error(exc: Exception, preset_name: str) -> EngineError:
    if is_out_of_memory(exc):
        return EngineOutOfMemory(
            f"{preset_name} ran out of accelerator memory; set engine_options.cpu_offload = "
            "'model' (or 'sequential'), keep vae_tiling = true, or use a smaller preset "
            "such as wan22-5b"
        )
    return EngineError(f"{preset_name} pipeline failed: {type(exc).__name__}: {exc}")


def free_accelerator_memory(device: torch.device | None) -> None:
    """After a failed or stopped run: drop its tensors and hand cached blocks back.

    Only needed after failures: a finished run's tensors die with its frames, and keeping
    the allocator's cache warm makes the next job faster.
    """
    gc.collect()
    if device is None:
        return
    import torch

    if device.type == "cuda" and torch.cuda.is_available():
        torch.cuda.synchronize(device)
        torch.cuda.empty_cache()
    elif device.type == "mps" and torch.backends.mps.is_available():
        torch.mps.empty_cache()
