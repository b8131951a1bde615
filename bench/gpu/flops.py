"""Counting the FLOPs a job really ran: every transformer pass and the VAE decodes.

During the timed job, a recorder wraps ``transformer.forward`` and the VAEs' ``decode`` and counts
calls per input-shape signature, keeping the arguments of the first call of each. After timing,
each signature is re-run once under ``torch.utils.flop_counter.FlopCounterMode`` (matmuls,
convolutions and attention), and total = sum(calls x FLOPs per call). CFG, STG and modality passes
are therefore counted as run, not assumed. Text encoding, the vocoder and elementwise ops are not
counted (well under 1 % of the total on the real models).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import torch
from torch.utils.flop_counter import FlopCounterMode, register_flop_formula

aten = torch.ops.aten


def _cpu_sdpa_flops(query: Any, key: Any, value: Any, *args: Any, **kwargs: Any) -> int:
    """CPU flash attention is not in torch's table: QK^T plus PV, 2 FLOPs per multiply-add.

    Like torch's own formulas it receives shapes, not tensors.
    """
    batch, heads, queries, dim = query
    keys = key[-2]
    return int(2 * 2 * batch * heads * queries * keys * dim)


register_flop_formula(aten._scaled_dot_product_flash_attention_for_cpu)(_cpu_sdpa_flops)


def _signature(args: tuple[Any, ...], kwargs: dict[str, Any]) -> tuple[Any, ...]:
    values = list(args) + [kwargs[name] for name in sorted(kwargs)]
    return tuple(
        tuple(value.shape) if isinstance(value, torch.Tensor) else repr(value)[:40]
        for value in values
    )


@dataclass
class CallRecorder:
    """Counts calls of a module method by signature; replays one of each to count FLOPs."""

    name: str
    calls: dict[tuple[Any, ...], int] = field(default_factory=dict)
    samples: dict[tuple[Any, ...], tuple[tuple[Any, ...], dict[str, Any]]] = field(
        default_factory=dict
    )
    seconds: float = 0.0

    def wrap(self, owner: Any, method: str) -> None:
        original: Callable[..., Any] = getattr(owner, method)

        def recorded(*args: Any, **kwargs: Any) -> Any:
            key = _signature(args, kwargs)
            self.calls[key] = self.calls.get(key, 0) + 1
            self.samples.setdefault(key, (args, kwargs))
            return original(*args, **kwargs)

        setattr(owner, method, recorded)
        self._original = (owner, method, original)

    def unwrap(self) -> None:
        owner, method, original = self._original
        setattr(owner, method, original)

    def count_flops(self) -> float:
        original = self._original[2]
        total = 0.0
        started = time.perf_counter()
        for key, (args, kwargs) in self.samples.items():
            counter = FlopCounterMode(display=False)
            with torch.no_grad(), counter:
                original(*args, **kwargs)
            total += counter.get_total_flops() * self.calls[key]
        self.seconds = time.perf_counter() - started
        self.samples.clear()
        return total

    @property
    def call_count(self) -> int:
        return sum(self.calls.values())
