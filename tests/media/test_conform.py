"""conform_video: upstream MP4s of the wrong size, rate, length, codec or sound come out of
render_media meeting the contract exactly, and say what was changed."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import numpy as np
import pytest

from reelforge.domain.errors import EngineError
from reelforge.domain.specs import GenerationSpec
from reelforge.engines.base import Frame, RenderedFile, VideoClip
from reelforge.media import ProbeInfo, probe, render_media
from reelforge.media.conform import conform_video

BITS = 9
"""Source frames carry their index as a row of black/white blocks, which survive compression."""


def index_frame(index: int, width: int, height: int) -> Frame:
    frame = np.full((height, width, 3), 60, dtype=np.uint8)
    block = width // BITS
    for bit in range(BITS):
        if index >> bit & 1:
            frame[height // 3 : 2 * height // 3, bit * block : (bit + 1) * block] = 255
    return frame


def read_index(frame: Frame, source_width: int = 1280, left: float = 0, scale: float = 1) -> int:
    """The index ``index_frame`` drew on a source ``source_width`` wide, after the source was
    scaled by ``scale`` and its left edge moved to ``left``."""
    block = source_width // BITS
    row = frame[frame.shape[0] // 2]
    centres = [round(left + (bit * block + block / 2) * scale) for bit in range(BITS)]
    return sum(1 << bit for bit, x in enumerate(centres) if row[x, 0] > 160)


def write_input(
    path: Path,
    size: tuple[int, int],
    fps: int,
    seconds: float,
    codec: str = "libx264",
    audio: tuple[int, str] | None = None,
) -> Path:
    """An MP4 as some other server might send it; ``audio`` is (rate, layout) of a 440 Hz tone."""
    width, height = size
    count = round(seconds * fps)
    with av.open(str(path), "w", format="mp4") as container:
        video: Any = container.add_stream(codec, rate=fps)
        video.width, video.height, video.pix_fmt = width, height, "yuv420p"
        if codec == "libx264":
            video.options = {"preset": "ultrafast"}
        elif codec == "libx265":
            video.options = {"preset": "ultrafast", "x265-params": "log-level=error"}
        sound = container.add_stream("aac", rate=audio[0], layout=audio[1]) if audio else None
        for index in range(count):
            picture = av.VideoFrame.from_ndarray(index_frame(index, width, height), "rgb24")
            picture.pts = index
            container.mux(video.encode(picture))
        container.mux(video.encode(None))
        if sound is not None and audio is not None:
            write_tone(container, sound, audio[0], audio[1], seconds)
    return path


def write_tone(container: av.container.OutputContainer, sound: av.AudioStream, rate: int,
               layout: str, seconds: float) -> None:  # fmt: skip
    channels = 1 if layout == "mono" else 2
    t = np.arange(round(seconds * rate)) / rate
    tone = np.tile(0.3 * np.sin(2 * np.pi * 440 * t, dtype=np.float32), (channels, 1))
    for start in range(0, tone.shape[1], 1024):
        chunk = np.ascontiguousarray(tone[:, start : start + 1024].astype(np.float32))
        frame = av.AudioFrame.from_ndarray(chunk, format="fltp", layout=layout)
        frame.sample_rate, frame.pts, frame.time_base = rate, start, Fraction(1, rate)
        container.mux(sound.encode(frame))
    container.mux(sound.encode(None))


def spec(seconds: int = 4, size: str = "1280x720") -> GenerationSpec:
    return GenerationSpec.build("anything", size=size, seconds=seconds, seed=1)


def deliver(source: Path, wanted: GenerationSpec, workdir: Path) -> tuple[ProbeInfo, list[str]]:
    """conform + render_media, then check the contract on what a client would download."""
    conformed = conform_video(source, wanted, metadata={"engine": "upstream"})
    files = render_media(conformed.output, wanted, workdir)
    info = probe(files.video)
    assert (info.width, info.height) == (wanted.width, wanted.height)
    assert (info.video_codec, info.pix_fmt, info.fps) == ("h264", "yuv420p", 24)
    assert info.frame_count == wanted.frame_count
    assert (info.audio_codec, info.audio_channels) == ("aac", 2)
    assert info.audio_duration is not None
    assert abs(info.audio_duration - wanted.seconds) <= 0.1
    assert info.tags["engine"] == "upstream"
    assert info.tags["conform"] == ("; ".join(conformed.changes) or "none")
    return info, conformed.changes


def decoded(path: Path) -> list[Frame]:
    with av.open(str(path)) as container:
        return [
            np.asarray(f.to_ndarray(format="rgb24"), np.uint8) for f in container.decode(video=0)
        ]


def test_compliant_video_is_only_remuxed(tmp_path: Path) -> None:
    source = write_input(tmp_path / "in.mp4", (1280, 720), 24, 4, audio=(48_000, "stereo"))
    conformed = conform_video(source, spec(4), metadata={"engine": "upstream"})
    assert isinstance(conformed.output, RenderedFile)
    assert conformed.changes == []
    info, _ = deliver(source, spec(4), tmp_path / "job")
    assert info.tags["conform"] == "none"


def test_a_good_video_without_sound_keeps_its_video_stream(tmp_path: Path) -> None:
    source = write_input(tmp_path / "in.mp4", (1280, 720), 24, 4)
    conformed = conform_video(source, spec(4), metadata={})
    assert isinstance(conformed.output, RenderedFile)
    assert conformed.output.path != source
    _, changes = deliver(source, spec(4), tmp_path / "job")
    assert changes == ["added a silent AAC track (upstream video had no audio)"]
    assert video_packets(tmp_path / "job" / "video.mp4") == video_packets(source)


def video_packets(path: Path) -> list[bytes]:
    with av.open(str(path)) as container:
        return [bytes(p) for p in container.demux(video=0) if p.size]


def test_slightly_different_aspect_is_cropped_and_a_silent_track_added(tmp_path: Path) -> None:
    source = write_input(tmp_path / "in.mp4", (1280, 704), 24, 5)
    _, changes = deliver(source, spec(4), tmp_path / "job")
    assert changes == [
        "scaled 1280x704 to 1280x720 (cover, centre crop)",
        "trimmed 5.00 s to 4 s",
        "added a silent AAC track (upstream video had no audio)",
    ]
    frames = decoded(tmp_path / "job" / "video.mp4")
    # Cropped to 1252x704 (14 px off each side), then scaled by 720/704.
    scale = 720 / 704
    assert [read_index(f, left=-14 * scale, scale=scale) for f in frames] == list(range(96))


def test_thirty_fps_is_resampled_by_nearest_frame_and_trimmed(tmp_path: Path) -> None:
    source = write_input(tmp_path / "in.mp4", (1280, 720), 30, 8.4, audio=(48_000, "stereo"))
    _, changes = deliver(source, spec(8), tmp_path / "job")
    assert changes == [
        "frame rate 30 fps resampled to 24 fps",
        "trimmed 8.40 s to 8 s",
        "audio trimmed from 8.40 s to 8 s",
    ]
    shown = [read_index(f) for f in decoded(tmp_path / "job" / "video.mp4")]
    # Output frame i at i/24 s shows the 30 fps frame nearest to it (ties go to the later one).
    assert shown == [int(i * 30 / 24 + 0.5) for i in range(192)]


def test_portrait_for_landscape_is_pillarboxed_held_and_mono_resampled(tmp_path: Path) -> None:
    source = write_input(tmp_path / "in.mp4", (720, 1280), 24, 2.5, audio=(44_100, "mono"))
    _, changes = deliver(source, spec(4), tmp_path / "job")
    assert changes == [
        "fitted 720x1280 into 1280x720 with black bars (pillarbox): "
        "a centre crop would have cut 68% of the picture",
        "padded 2.50 s to 4 s by holding the last frame",
        "audio resampled from 44100 Hz mono to 48000 Hz stereo",
        "audio padded with silence from 2.50 s to 4 s",
    ]
    frames = decoded(tmp_path / "job" / "video.mp4")
    # 720x1280 fitted into 720 rows is 405 px wide, centred: bars of 437 px either side.
    assert frames[0][:, :420].max() < 30 and frames[0][:, -420:].max() < 30
    assert frames[0][:, 437:842].mean() > 50
    assert read_index(frames[-1], 720, left=437, scale=720 / 1280) == 59  # the last frame, held
    with av.open(str(tmp_path / "job" / "video.mp4")) as container:
        sound = np.concatenate([f.to_ndarray() for f in container.decode(audio=0)], axis=1)
    assert np.abs(sound[:, 12_000:96_000]).max() > 0.2  # the tone, in both channels
    assert np.abs(sound[:, 130_000:180_000]).max() < 0.01  # then silence


def test_other_codecs_are_re_encoded_as_h264(tmp_path: Path) -> None:
    codec = next((c for c in ("libx265", "mpeg4") if c in av.codecs_available), None)
    if codec is None:
        pytest.skip("this PyAV build has neither an HEVC nor an MPEG-4 encoder")
    source = write_input(tmp_path / "in.mp4", (640, 360), 24, 4, codec, (48_000, "stereo"))
    conformed = conform_video(source, spec(4), metadata={})
    assert isinstance(conformed.output, VideoClip)
    _, changes = deliver(source, spec(4), tmp_path / "job")
    name = probe(source).video_codec
    assert changes == ["scaled 640x360 to 1280x720", f"re-encoded {name} as h264"]


def test_files_without_video_are_engine_errors(tmp_path: Path) -> None:
    garbage = tmp_path / "garbage.mp4"
    garbage.write_bytes(b"\x00\x00\x00\x18ftypmp42 this is not a video")
    with pytest.raises(EngineError, match=r"garbage\.mp4 is not a readable media file"):
        conform_video(garbage, spec(), metadata={})
    sound_only = tmp_path / "sound.m4a"
    with av.open(str(sound_only), "w", format="mp4") as container:
        write_tone(container, container.add_stream("aac", rate=48_000), 48_000, "stereo", 1)
    with pytest.raises(EngineError, match=r"sound\.m4a has no video stream"):
        conform_video(sound_only, spec(), metadata={})
