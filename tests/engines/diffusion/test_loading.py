"""Loading through the engine's real path: what each broken setup says, and failure mapping."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from reelforge.core.config import Settings
from reelforge.domain.errors import EngineError, EngineLoadError
from reelforge.domain.specs import GenerationSpec
from reelforge.engines.diffusers_engine import create_engine
from tests.engines.diffusion.conftest import (
    EngineFactory,
    RecordingControl,
    generate,
    spec,
    tiny_options,
)
from tests.engines.diffusion.gpu_extra import require_gpu_extra

require_gpu_extra()


def load(preset: str, directory: Path | str, **overrides: object) -> None:
    options = tiny_options(preset, Path("unused"), **overrides)
    options["model_paths"] = {preset: str(directory)}
    create_engine(Settings(engine="diffusers", engine_options=options)).load()


def test_missing_directory_says_how_to_get_it(tmp_path: Path) -> None:
    with pytest.raises(EngineLoadError, match=r"does not exist; run `reelforge models pull wan"):
        load("wan22-5b", tmp_path / "absent")


def test_folder_without_model_index_is_not_a_checkpoint(tmp_path: Path) -> None:
    with pytest.raises(EngineLoadError, match=r"has no model_index\.json"):
        load("wan22-5b", tmp_path)


def test_incomplete_download_names_the_missing_component(
    tiny_checkpoints: dict[str, Path], tmp_path: Path
) -> None:
    broken = shutil.copytree(tiny_checkpoints["wan22-5b"], tmp_path / "wan")
    shutil.rmtree(broken / "vae")
    with pytest.raises(EngineLoadError, match=r"lacks component folder\(s\) vae"):
        load("wan22-5b", broken)


def test_corrupt_weights_are_reported_with_the_folder(
    tiny_checkpoints: dict[str, Path], tmp_path: Path
) -> None:
    broken = shutil.copytree(tiny_checkpoints["wan22-5b"], tmp_path / "wan")
    for weights in (broken / "transformer").glob("*.safetensors"):
        weights.write_bytes(b"not safetensors")
    with pytest.raises(EngineLoadError, match=f"could not load wan22-5b from {broken}"):
        load("wan22-5b", broken)


def test_hub_id_that_is_not_cached_points_to_models_pull() -> None:
    with pytest.raises(EngineLoadError, match="run `reelforge models pull wan22-5b`"):
        load("wan22-5b", "reelforge-tests/not-a-real-repo")


def test_cpu_offload_needs_a_gpu(tiny_checkpoints: dict[str, Path]) -> None:
    with pytest.raises(EngineLoadError, match="cpu_offload needs a GPU"):
        load("wan22-5b", tiny_checkpoints["wan22-5b"], cpu_offload="model")


def test_cuda_device_without_a_gpu_is_explained(tiny_checkpoints: dict[str, Path]) -> None:
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has a GPU")
    with pytest.raises(EngineLoadError, match="torch sees no CUDA GPU"):
        load("wan22-5b", tiny_checkpoints["wan22-5b"], device="cuda")


def test_presets_sharing_a_checkpoint_share_the_weights(tiny_checkpoints: dict[str, Path]) -> None:
    directory = str(tiny_checkpoints["ltx2"])
    options = tiny_options("ltx2", tiny_checkpoints["ltx2"])
    options |= {
        "models": {"sora-2-pro": "ltx2-full"},
        "model_paths": {"ltx2": directory, "ltx2-full": directory},
    }
    engine = create_engine(Settings(engine="diffusers", engine_options=options))
    engine.load()
    assert engine._models["ltx2"] is engine._models["ltx2-full"]
    pro = GenerationSpec.build("a cat", model="sora-2-pro", seconds=4, seed=2)
    clip, frames = generate(engine, pro)
    assert clip.metadata["preset"] == "ltx2-full" and len(frames) == 96


def test_out_of_memory_becomes_a_clear_engine_error(make_engine: EngineFactory) -> None:
    import torch

    engine = make_engine("wan22-5b")
    oom = torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 20.00 GiB")
    with pytest.raises(EngineError) as caught:
        generate(engine, spec(), control=RecordingControl(stop_at=1, stop_with=oom))
    assert caught.value.code == "out_of_memory"
    assert "cpu_offload" in str(caught.value) and "vae_tiling" in str(caught.value)
    _, frames = generate(engine, spec())  # the process stays usable
    assert len(frames) == 96


def test_other_pipeline_failures_become_engine_errors(make_engine: EngineFactory) -> None:
    engine = make_engine("wan22-5b")
    failure = RuntimeError("cuDNN error: CUDNN_STATUS_INTERNAL_ERROR")
    expected = "wan22-5b pipeline failed: RuntimeError: cuDNN"
    with pytest.raises(EngineError, match=expected) as caught:
        generate(engine, spec(), control=RecordingControl(stop_at=1, stop_with=failure))
    assert caught.value.code == "engine_error"
