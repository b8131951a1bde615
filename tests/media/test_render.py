"""render_media for engines that hand over a finished MP4 (RenderedFile), and probe itself."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from reelforge.domain.errors import EngineError
from reelforge.domain.specs import GenerationSpec
from reelforge.engines.base import Frame, RenderedFile, VideoClip
from reelforge.media import EncodeSettings, probe, render_media
from reelforge.media.encode import encode_clip
from reelforge.media.previews import PreviewCollector, spritesheet_size
from reelforge.media.probe import top_level_boxes

# What another program might write: index at the end, no tags of ours.
PLAIN_MP4 = EncodeSettings(preset="ultrafast", movflags="")


def write_mp4(path: Path, width: int = 1280, height: int = 720, seconds: int = 4) -> Path:
    count = seconds * 24

    def frames() -> Iterator[Frame]:
        for index in range(count):
            yield np.full((height, width, 3), index * 2 % 256, dtype=np.uint8)

    audio = np.zeros((2, seconds * 48_000), dtype=np.float32)
    clip = VideoClip(frames(), count, 24, audio, 48_000, {"title": "from elsewhere"})
    encode_clip(
        clip, (width, height), path, PreviewCollector(count, width, height), None, PLAIN_MP4
    )
    return path


def spec(seconds: int = 4) -> GenerationSpec:
    return GenerationSpec.build("anything", seconds=seconds, seed=1)


@pytest.fixture(scope="module")
def plain_mp4(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_mp4(tmp_path_factory.mktemp("source") / "upstream.mp4")


def test_index_at_the_end_is_detected(plain_mp4: Path) -> None:
    boxes = top_level_boxes(plain_mp4)
    assert boxes.index(b"mdat") < boxes.index(b"moov")
    assert not probe(plain_mp4).moov_before_mdat


def test_rendered_file_is_remuxed_with_faststart_and_tags(plain_mp4: Path, tmp_path: Path) -> None:
    before = plain_mp4.read_bytes()
    output = RenderedFile(plain_mp4, {"engine": "upstream", "model": "sora-2"})
    progress: list[float] = []
    files = render_media(output, spec(), tmp_path / "job", progress.append)
    info = probe(files.video)
    assert info.moov_before_mdat
    assert (info.video_codec, info.audio_codec, info.width, info.height) == (
        "h264",
        "aac",
        1280,
        720,
    )
    assert info.frame_count == 96
    assert abs(info.duration - 4) <= 1 / 24
    assert info.tags["engine"] == "upstream"
    assert info.tags["model"] == "sora-2"
    assert "title" not in info.tags  # only our tags
    assert plain_mp4.read_bytes() == before
    assert progress == [1.0]
    with Image.open(files.spritesheet) as sheet:
        assert sheet.format == "JPEG"
        assert sheet.size == spritesheet_size(1280, 720)
        first, last = np.asarray(sheet)[45, 80], np.asarray(sheet)[405, 720]
        assert int(last[0]) > int(first[0]) + 100  # tiles follow the video's brightening
    with Image.open(files.thumbnail) as thumbnail:
        assert thumbnail.format == "WEBP"


def test_rendered_file_in_the_workdir_itself(tmp_path: Path) -> None:
    source = write_mp4(tmp_path / "video.mp4")
    files = render_media(RenderedFile(source), spec(), tmp_path)
    assert files.video == source
    assert probe(files.video).moov_before_mdat
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "spritesheet.jpg", "thumbnail.webp", "video.mp4"
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("width", "height", "seconds", "message"),
    [
        (320, 180, 4, "size is 320x180, not 1280x720"),
        (1280, 720, 2, "video lasts 2.000 s, not 4 s"),
    ],
)
def test_rendered_file_that_does_not_match_the_spec(
    tmp_path: Path, width: int, height: int, seconds: int, message: str
) -> None:
    source = write_mp4(tmp_path / "upstream.mp4", width, height, seconds)
    with pytest.raises(EngineError, match=message):
        render_media(RenderedFile(source), spec(), tmp_path / "job")
    assert not (tmp_path / "job" / "video.mp4").exists()


def test_rendered_file_that_is_not_a_video(tmp_path: Path) -> None:
    junk = tmp_path / "junk.mp4"
    junk.write_bytes(b"this is not a video" * 100)
    with pytest.raises(EngineError, match=r"junk\.mp4 is not a readable media file"):
        render_media(RenderedFile(junk), spec(), tmp_path / "job")
    with pytest.raises(EngineError, match="does not exist"):
        render_media(RenderedFile(tmp_path / "missing.mp4"), spec(), tmp_path / "job")


def test_top_level_boxes_handles_64_bit_sizes_and_to_end_boxes(tmp_path: Path) -> None:
    path = tmp_path / "boxes.mp4"
    ftyp = (16).to_bytes(4, "big") + b"ftypisom" + b"\0" * 4
    moov = (1).to_bytes(4, "big") + b"moov" + (24).to_bytes(8, "big") + b"\0" * 8
    mdat = (0).to_bytes(4, "big") + b"mdat" + b"\0" * 100
    path.write_bytes(ftyp + moov + mdat)
    assert top_level_boxes(path) == [b"ftyp", b"moov", b"mdat"]
