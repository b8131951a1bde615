"""One job end to end through the real worker: queue -> diffusers engine -> MP4 with audio."""

from __future__ import annotations

from pathlib import Path

from reelforge.core.runtime import Runtime
from reelforge.domain.jobs import Status
from reelforge.domain.specs import GenerationSpec
from reelforge.media import probe
from reelforge.worker import Worker
from tests.engines.diffusion.conftest import tiny_options
from tests.engines.diffusion.gpu_extra import require_gpu_extra
from tests.support.settings import fast_settings

require_gpu_extra()


def test_worker_renders_an_ltx2_job_with_synchronized_audio(
    tmp_path: Path, tiny_checkpoints: dict[str, Path]
) -> None:
    options = tiny_options("ltx2", tiny_checkpoints["ltx2"])
    # SQLite only: the queue is tested on both databases elsewhere; this test is about the engine.
    settings = fast_settings(tmp_path / "data", engine="diffusers", engine_options=options)
    rt = Runtime.open(settings)
    try:
        spec = GenerationSpec.build("a cat walks on the beach", seconds=4, seed=21)
        job = rt.database.enqueue(spec, owner=None)

        assert Worker(rt).run_until_idle() == 1

        done = rt.store.get_job(job.id)
        assert done.status is Status.COMPLETED, done.error_message
        assert done.progress == 1.0 and done.engine == "diffusers"
        assert done.outputs is not None
        video = rt.blobs.local_path(done.outputs.video)
        assert video is not None
        info = probe(video)
        assert (info.width, info.height, info.frame_count) == (1280, 720, 96)
        assert info.duration == 4.0
        assert info.audio_codec == "aac" and info.audio_channels == 2
        assert info.audio_duration is not None and abs(info.audio_duration - 4.0) < 0.05
        assert info.tags.get("preset") == "ltx2"
    finally:
        rt.close()
