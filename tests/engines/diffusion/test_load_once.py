"""Loading once per process: slots share one load, presets share modules, every failure (CUDA
out of memory included) leaves the worker alive, claiming nothing, with /readyz saying why;
a missing latent upsampler is a load error unless one stage is chosen explicitly."""

from __future__ import annotations

import logging
import shutil
import threading
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from reelforge.core.config import Settings
from reelforge.core.runtime import Runtime
from reelforge.domain.errors import EngineLoadError
from reelforge.domain.jobs import Status
from reelforge.domain.specs import GenerationSpec
from reelforge.engines.diffusers_engine import create_engine
from reelforge.worker import Worker, runner
from tests.engines.diffusion.conftest import tiny_options
from tests.engines.diffusion.gpu_extra import require_gpu_extra
from tests.support.apps import running_app
from tests.support.settings import fast_settings
from tests.support.wait import wait_for

require_gpu_extra()

CUDA_OOM = "CUDA out of memory. Tried to allocate 20.00 GiB. GPU 0 has a total capacity of 79 GiB"


@pytest.fixture
def component_loads(monkeypatch: pytest.MonkeyPatch) -> Iterator[Counter[str]]:
    """Counts every component read from disk, by class: a spy that calls the real loader."""
    import diffusers
    import transformers

    loads: Counter[str] = Counter()
    lock = threading.Lock()
    for base in (diffusers.ModelMixin, transformers.PreTrainedModel):
        real = base.from_pretrained.__func__  # type: ignore[attr-defined]

        def counting(cls: type, *args: Any, _real: Any = real, **kwargs: Any) -> Any:
            with lock:
                loads[cls.__name__] += 1
            return _real(cls, *args, **kwargs)

        monkeypatch.setattr(base, "from_pretrained", classmethod(counting))
    yield loads


def test_two_slots_and_two_presets_load_each_component_once(
    tmp_path: Path, tiny_checkpoints: dict[str, Path], component_loads: Counter[str]
) -> None:
    directory = str(tiny_checkpoints["ltx2"])
    # ltx2 (two-stage, with the upsampler) and ltx2-full on the same files: two recipes, one
    # set of modules.
    options = tiny_options("ltx2", tiny_checkpoints["ltx2"], two_stage=True)
    options |= {
        "models": {"sora-2-pro": "ltx2-full"},
        "model_paths": {"ltx2": directory, "ltx2-full": directory},
    }
    settings = fast_settings(
        tmp_path / "data", engine="diffusers", engine_options=options, worker_concurrency=2
    )
    rt = Runtime.open(settings)
    worker = Worker(rt)
    try:
        worker.start()  # both slots ask for the engine at once
        wait_for(lambda: worker.ready, timeout=240)
        wait_for(lambda: len(worker._slots) == 2 and all(s.is_alive() for s in worker._slots))
        assert worker.load_engine()  # later callers find it loaded
        worker.engine.load()
    finally:
        worker.stop(grace=5)
        rt.close()
    expected = {
        "LTX2VideoTransformer3DModel",
        "Gemma3ForConditionalGeneration",
        "LTX2TextConnectors",
        "AutoencoderKLLTX2Video",
        "AutoencoderKLLTX2Audio",
        "LTX2Vocoder",
        "LTX2LatentUpsamplerModel",
    }
    assert set(component_loads) == expected
    assert all(count == 1 for count in component_loads.values()), component_loads


def test_out_of_memory_at_load_keeps_the_worker_alive_and_readyz_says_why(
    tmp_path: Path, tiny_checkpoints: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    import diffusers
    import torch

    real_to = diffusers.DiffusionPipeline.to
    failing = threading.Event()
    failing.set()

    def to_device(self: Any, *args: Any, **kwargs: Any) -> Any:
        if failing.is_set():  # what a GPU too small for the weights does
            raise torch.OutOfMemoryError(CUDA_OOM)
        return real_to(self, *args, **kwargs)

    monkeypatch.setattr(diffusers.DiffusionPipeline, "to", to_device)
    monkeypatch.setattr(runner, "ENGINE_RETRY_SECONDS", 0.3)
    options = tiny_options("wan22-5b", tiny_checkpoints["wan22-5b"])
    with running_app(
        tmp_path, engine="diffusers", engine_options=options, worker_concurrency=2
    ) as app:
        worker = app.context.worker
        assert isinstance(worker, Worker)
        job = app.runtime.database.enqueue(GenerationSpec.build("a cat", seconds=4, seed=1), None)
        with app.anonymous() as http:
            body = wait_for(lambda: _failed_readiness(http), timeout=120)
        error = body["engine_error"]
        assert "ran out of accelerator memory" in error and CUDA_OOM.split(".")[0] in error
        assert "cpu_offload = 'model'" in error and "\n" not in error
        # Alive and retrying, claiming nothing while the engine cannot load.
        assert all(slot.is_alive() for slot in worker._slots)
        assert app.runtime.store.get_job(job.id).status is Status.QUEUED
        assert app.runtime.store.attempts(job.id) == []
        # Memory comes back (another process let go of the GPU): the next retry loads and runs.
        failing.clear()
        wait_for(lambda: app.runtime.store.get_job(job.id).status.is_terminal, timeout=240)
        assert app.runtime.store.get_job(job.id).status is Status.COMPLETED
        with app.anonymous() as http:
            assert http.get("/readyz").json()["engine_state"] == "loaded"


def _failed_readiness(http: Any) -> dict[str, Any] | None:
    response = http.get("/readyz")
    body: dict[str, Any] = response.json()
    if body["engine_state"] == "failed":
        assert response.status_code == 503
        return body
    return None


def test_missing_upsampler_fails_the_load_unless_one_stage_is_chosen(
    tmp_path: Path, tiny_checkpoints: dict[str, Path], caplog: pytest.LogCaptureFixture
) -> None:
    directory = shutil.copytree(tiny_checkpoints["ltx2"], tmp_path / "ltx2")
    shutil.rmtree(directory / "latent_upsampler")
    two_stage = tiny_options("ltx2", directory, two_stage=True)
    engine = create_engine(Settings(engine="diffusers", engine_options=two_stage))
    with pytest.raises(EngineLoadError) as missing:
        engine.load()
    message = str(missing.value)
    assert "ltx2 runs two stages and needs its latent upsampler" in message
    assert str(directory / "latent_upsampler") in message
    assert "reelforge models pull ltx2" in message and "two_stage = false" in message

    one_stage = tiny_options("ltx2", directory, two_stage=False)
    with caplog.at_level(logging.INFO, logger="reelforge.engines.diffusion.loading"):
        create_engine(Settings(engine="diffusers", engine_options=one_stage)).load()
    assert "ltx2: two_stage = false: one full-size stage of 2 steps" in caplog.text


def test_configured_upsampler_path_must_hold_a_model(
    tmp_path: Path, tiny_checkpoints: dict[str, Path]
) -> None:
    options = tiny_options("ltx2", tiny_checkpoints["ltx2"], two_stage=True)
    options["upsampler_paths"] = {"ltx2": str(tmp_path)}
    engine = create_engine(Settings(engine="diffusers", engine_options=options))
    with pytest.raises(EngineLoadError, match=r"upsampler_paths\.ltx2 = .* has no config\.json"):
        engine.load()
