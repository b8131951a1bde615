"""Optional speed levers applied once at load (see ``DiffusersOptions`` for each default).

``compile`` compiles the transformer's repeated block; every preset's blocks share its code, and
dynamo keys graphs on it. Measured on the tiny pipelines (dynamo's own counters), the warm-up of
a two-stage LTX-2 preset builds 7 graphs (stages x modes x durations, partly folded by automatic
dynamic shapes) and a Wan2.2 preset 2: above torch's default of 8 graphs per code object as soon
as two presets are compiled, after which further shapes silently run uncompiled. Hence
``allow_compiled_graphs``.

``fp8`` quantizes the transformer's linear layers to float8 weights and activations with
torchao. It is off by default: it changes the numbers (a quality trade the operator should
choose), needs FP8 tensor cores, and torchao is not a dependency of ReelForge.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any, Final

from reelforge.domain.errors import EngineLoadError

if TYPE_CHECKING:
    import torch

# FP8 matmuls need Ada (8.9), Hopper (9.0) or newer.
FP8_MIN_CAPABILITY: Final = (8, 9)
_FP8_MARK: Final = "_reelforge_fp8"
# Graphs dynamo keeps per compiled block: every preset, stage, mode and duration of a process.
COMPILED_GRAPH_LIMIT: Final = 64


def allow_compiled_graphs(limit: int = COMPILED_GRAPH_LIMIT) -> None:
    """Let dynamo keep ``limit`` graphs per block instead of falling back to eager at 8."""
    import torch._dynamo

    config: Any = torch._dynamo.config
    config.recompile_limit = max(int(config.recompile_limit), limit)


def apply_fp8(transformer: Any, device: torch.device) -> None:
    """Float8 dynamic-activation, float8-weight linears in ``transformer`` (in place).

    Presets that share a transformer share it quantized: a second call leaves it as it is.
    """
    quantization = _torchao_quantization()
    _require_fp8_device(device)
    if getattr(transformer, _FP8_MARK, False):
        return
    quantization.quantize_(transformer, quantization.Float8DynamicActivationFloat8WeightConfig())
    setattr(transformer, _FP8_MARK, True)


def _torchao_quantization() -> Any:
    try:
        return importlib.import_module("torchao.quantization")
    except ImportError:
        raise EngineLoadError(
            "engine_options.fp8 needs torchao, which is not installed; pip install torchao "
            "(a release built for your torch), or set fp8 = false"
        ) from None


def _require_fp8_device(device: torch.device) -> None:
    import torch

    if device.type != "cuda":
        raise EngineLoadError(
            f"engine_options.fp8 needs an NVIDIA GPU; the engine runs on {device.type}: "
            "set fp8 = false"
        )
    capability = torch.cuda.get_device_capability(device)
    if capability < FP8_MIN_CAPABILITY:
        raise EngineLoadError(
            f"engine_options.fp8 needs FP8 tensor cores (compute capability 8.9+: Ada, Hopper "
            f"or newer); this GPU is {capability[0]}.{capability[1]}: set fp8 = false"
        )
