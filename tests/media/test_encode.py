"""render_media on real files: encode testcard clips, probe them with PyAV, check the previews."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import av
import numpy as np
import pytest
from PIL import Image

from reelforge.domain.errors import EngineError, JobCancelled
from reelforge.domain.specs import GenerationSpec
from reelforge.engines.base import EngineRequest, Frame, VideoClip
from reelforge.engines.testcard import TestcardEngine
from reelforge.media import EncodeSettings, MediaFiles, ProbeInfo, probe, render_media
from reelforge.media.previews import spritesheet_size, thumbnail_size

ONE_FRAME = 1 / 24
ONE_AAC_FRAME = 1024 / 48_000 + 0.005
QUICK = EncodeSettings(preset="ultrafast")  # for tests about frames and audio, not quality


class Control:
    def __init__(self, cancel_at: int | None = None) -> None:
        self.cancel_at = cancel_at

    def step(self, done: float, total: float, stage: str = "") -> None:
        if self.cancel_at is not None and done >= self.cancel_at:
            raise JobCancelled("cancelled by the test")

    def log(self, message: str) -> None:
        pass


def make_spec(size: str = "1280x720", seconds: int = 4) -> GenerationSpec:
    return GenerationSpec.build("Neon city in the rain", size=size, seconds=seconds, seed=11)


def make_clip(
    spec: GenerationSpec, image: Frame | None = None, cancel_at: int | None = None
) -> VideoClip:
    return TestcardEngine().generate(EngineRequest(spec, image), Control(cancel_at))


def assert_delivered(files: MediaFiles, spec: GenerationSpec) -> ProbeInfo:
    """Everything the contract promises about a finished video and its previews."""
    info = probe(files.video)
    assert (info.video_codec, info.audio_codec) == ("h264", "aac")
    assert (info.width, info.height) == (spec.width, spec.height)
    assert info.pix_fmt == "yuv420p"
    assert info.fps == 24
    assert info.frame_count == spec.frame_count
    assert abs(info.duration - spec.seconds) <= ONE_FRAME
    assert info.audio_duration is not None
    assert abs(info.audio_duration - info.duration) <= ONE_AAC_FRAME
    assert (info.audio_channels, info.audio_sample_rate) == (2, 48_000)
    assert info.moov_before_mdat
    assert info.tags["engine"] == "testcard"
    assert info.tags["model"] == "testcard-1"
    assert info.tags["is_test_engine"] == "true"
    assert "TESTCARD" in info.tags["comment"]
    with Image.open(files.thumbnail) as thumbnail:
        assert thumbnail.format == "WEBP"
        assert thumbnail.size == thumbnail_size(spec.width, spec.height)
    with Image.open(files.spritesheet) as sheet:
        assert sheet.format == "JPEG"
        assert sheet.size == spritesheet_size(spec.width, spec.height)
    return info


@pytest.fixture(scope="module")
def landscape_4s(tmp_path_factory: pytest.TempPathFactory) -> tuple[MediaFiles, list[float]]:
    spec = make_spec()
    progress: list[float] = []
    workdir = tmp_path_factory.mktemp("landscape")
    return render_media(make_clip(spec), spec, workdir, progress.append), progress


def test_landscape_4s(landscape_4s: tuple[MediaFiles, list[float]]) -> None:
    files, _ = landscape_4s
    assert_delivered(files, make_spec())
    assert sorted(p.name for p in files.video.parent.iterdir()) == [
        "spritesheet.jpg", "thumbnail.webp", "video.mp4"
    ]  # fmt: skip


def test_progress_rises_to_one(landscape_4s: tuple[MediaFiles, list[float]]) -> None:
    _, progress = landscape_4s
    assert progress == sorted(progress)
    assert len(progress) >= 10
    assert progress[-1] == 1.0


def test_spritesheet_tiles_show_evenly_spaced_frames(
    landscape_4s: tuple[MediaFiles, list[float]],
) -> None:
    files, _ = landscape_4s
    with Image.open(files.spritesheet) as sheet:
        tiles = np.asarray(sheet).reshape(5, 90, 5, 160, 3).transpose(0, 2, 1, 3, 4)
    distinct = {tile.tobytes() for row in tiles for tile in row}
    assert len(distinct) == 25  # each tile is a different moment


@pytest.mark.slow
def test_portrait_12s(tmp_path: Path) -> None:
    # The default encoder settings are checked on landscape_4s; here length and orientation.
    spec = make_spec("720x1280", seconds=12)
    assert_delivered(render_media(make_clip(spec), spec, tmp_path, settings=QUICK), spec)


def test_first_frame_survives_encoding_8s(tmp_path: Path) -> None:
    spec = make_spec(seconds=8)
    rng = np.random.default_rng(0)
    # a smooth image (noise would be smeared by compression): gradients plus soft blobs
    y, x = np.mgrid[0:720, 0:1280]
    image = np.stack([x * 255 // 1279, y * 255 // 719, (x + y) % 256], axis=2).astype(np.uint8)
    image[200:400, 300:700] = rng.integers(0, 256, 3, dtype=np.uint8)
    files = render_media(make_clip(spec, image), spec, tmp_path)
    assert_delivered(files, spec)
    with av.open(str(files.video)) as container:
        first = next(container.decode(video=0)).to_ndarray(format="rgb24")
    difference = np.abs(first.astype(np.int16) - image.astype(np.int16))
    assert float(difference.mean()) < 2.0


@pytest.mark.parametrize("cancel_at", [1, 30, 96])
def test_cancel_leaves_no_video(tmp_path: Path, cancel_at: int) -> None:
    spec = make_spec()
    with pytest.raises(JobCancelled):
        render_media(make_clip(spec, cancel_at=cancel_at), spec, tmp_path, settings=QUICK)
    assert list(tmp_path.iterdir()) == []


def clip_of(frames: Iterator[Frame], frame_count: int = 96) -> VideoClip:
    audio = np.zeros((2, 48_000 * 4), dtype=np.float32)
    return VideoClip(
        frames=frames, frame_count=frame_count, fps=24, audio=audio, sample_rate=48_000
    )


def grey_frames(count: int, shape: tuple[int, ...] = (720, 1280, 3)) -> Iterator[Frame]:
    for _ in range(count):
        yield np.full(shape, 128, dtype=np.uint8)


@pytest.mark.parametrize(
    ("frames", "message"),
    [
        (
            grey_frames(96, (1280, 720, 3)),
            r"frame 0 is \(1280, 720, 3\) uint8; expected .*\(720, 1280, 3\)",
        ),
        (grey_frames(50), "engine yielded 50 frames but promised 96"),
        (grey_frames(97), "more than the 96 frames it promised"),
    ],
    ids=["wrong_shape", "too_few", "too_many"],
)
def test_bad_frames_are_engine_errors(
    tmp_path: Path, frames: Iterator[Frame], message: str
) -> None:
    with pytest.raises(EngineError, match=message):
        render_media(clip_of(frames), make_spec(), tmp_path, settings=QUICK)
    assert list(tmp_path.iterdir()) == []


def test_clip_that_does_not_match_the_spec(tmp_path: Path) -> None:
    with pytest.raises(EngineError, match="needs exactly 192 frames at 24 fps"):
        render_media(clip_of(grey_frames(96)), make_spec(seconds=8), tmp_path, settings=QUICK)


def test_short_mono_audio_is_padded_to_the_video(tmp_path: Path) -> None:
    clip = clip_of(grey_frames(96))
    clip.audio = np.full((1, 48_000), 0.1, dtype=np.float32)  # mono, one second
    info = probe(render_media(clip, make_spec(), tmp_path, settings=QUICK).video)
    assert info.audio_channels == 2
    assert info.audio_duration is not None
    assert abs(info.audio_duration - 4.0) <= ONE_AAC_FRAME
