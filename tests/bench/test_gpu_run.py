"""``bench.gpu.run``: a fresh stock baseline, medians of repeats, out-of-memory as a result.

Tiny pipelines on CPU: these check what the benchmark reports and how, not any speed.
"""

from __future__ import annotations

import argparse
import statistics
from typing import Any

import pytest

from tests.engines.diffusion.gpu_extra import require_gpu_extra

require_gpu_extra()

import torch  # noqa: E402
from bench.gpu import run as bench_run  # noqa: E402

from reelforge.domain.errors import EngineError  # noqa: E402
from reelforge.domain.specs import GenerationSpec  # noqa: E402


def tiny_args(**overrides: Any) -> argparse.Namespace:
    values: dict[str, Any] = {
        "tiny": True,
        "recipe": "distilled",
        "compile": False,
        "attention_backend": None,
        "fp8": False,
        "cfg_batching": False,
        "baseline": True,
        "baseline_steps": 2,
        "repeats": 2,
        "seconds": [4],
    }
    return argparse.Namespace(**(values | overrides))


def test_the_stock_run_gets_its_own_pipeline_without_any_lever() -> None:
    ours = bench_run.build_run(tiny_args(), "ltx2", stock=False)
    stock = bench_run.build_run(tiny_args(), "ltx2", stock=True)

    ours_model = ours.engine._models["ltx2"]
    stock_model = stock.engine._models["ltx2-full"]
    assert stock_model.text_to_video.transformer is not ours_model.text_to_video.transformer
    assert stock_model.text_to_video.vae is not ours_model.text_to_video.vae
    assert stock_model.text_to_video.vae.use_tiling is False
    assert ours_model.text_to_video.vae.use_tiling is True
    assert stock_model.upsampler is None and ours_model.upsampler is not None
    options = stock.engine.options
    assert (options.compile, options.attention_backend, options.two_stage) == (False, None, False)
    assert stock.mode == "stock diffusers defaults" and ours.mode == "reelforge"


def test_out_of_memory_in_the_untiled_stock_decode_is_recorded_not_raised() -> None:
    stock = bench_run.build_run(tiny_args(), "wan", stock=True)
    vae = stock.engine._models["wan22-5b"].text_to_video.vae

    def decode_out_of_memory(*args: Any, **kwargs: Any) -> Any:
        raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 61.20 GiB")

    vae.decode = decode_out_of_memory
    spec = GenerationSpec.build("a fox in snow", seconds=4, seed=1)

    result = bench_run.measure(stock, spec, bench_run.Timer(torch.device("cpu")), repeats=2)

    assert result.wall_s is None and result.gpu_s_per_video_s is None
    assert result.note.startswith("out of memory")
    assert "stock" in bench_run.markdown([result]) and "| n/a |" in bench_run.markdown([result])


def test_a_failure_that_is_not_out_of_memory_still_stops_the_run() -> None:
    stock = bench_run.build_run(tiny_args(), "wan", stock=True)
    vae = stock.engine._models["wan22-5b"].text_to_video.vae

    def decode_broken(*args: Any, **kwargs: Any) -> Any:
        raise ValueError("shape mismatch")

    vae.decode = decode_broken
    spec = GenerationSpec.build("a fox in snow", seconds=4, seed=1)

    with pytest.raises(EngineError, match="shape mismatch"):
        bench_run.measure(stock, spec, bench_run.Timer(torch.device("cpu")), repeats=1)


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_each_row_is_the_median_of_its_repeats_after_a_warm_up() -> None:
    rows = bench_run.bench_family("wan", tiny_args(repeats=3))

    assert [row.mode for row in rows] == ["reelforge", "stock diffusers defaults"]
    for row in rows:
        assert len(row.repeats_s) == 3
        assert row.wall_s == round(statistics.median(row.repeats_s), 3)
        assert row.transformer_calls > 0 and row.counted_tflop is not None
    assert rows[0].note.startswith("stock / reelforge wall time = ")
