"""Read back what an MP4 holds: codecs, size, frame rate, durations, tags, box order.

Used by the media module to check files engines hand over, and by tests to check ours.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import av

from reelforge.domain.errors import EngineError


@dataclass(frozen=True, slots=True)
class ProbeInfo:
    """Facts about a media file. Audio fields are ``None`` when it has no audio stream."""

    video_codec: str
    audio_codec: str | None
    width: int
    height: int
    pix_fmt: str
    fps: float
    frame_count: int
    duration: float
    """Seconds of video (the video stream's own duration, not the container's)."""
    audio_duration: float | None
    audio_channels: int | None
    audio_sample_rate: int | None
    moov_before_mdat: bool
    """True when the index comes first, so players can start before the download ends."""
    tags: dict[str, str]


def probe(path: Path) -> ProbeInfo:
    """Describe the media file at ``path``; ``EngineError`` when it has no readable video."""
    try:
        container = av.open(str(path))
    except (av.FFmpegError, OSError) as exc:
        raise EngineError(f"{path.name} is not a readable media file: {exc}") from exc
    with container:
        if not container.streams.video:
            raise EngineError(f"{path.name} has no video stream")
        video = container.streams.video[0]
        audio = container.streams.audio[0] if container.streams.audio else None
        fps = float(video.average_rate or video.guessed_rate or 0)
        duration = _seconds(video.duration, video.time_base)
        frame_count = video.frames or round(duration * fps)
        audio_duration = _seconds(audio.duration, audio.time_base) if audio else None
        return ProbeInfo(
            video_codec=video.codec_context.name,
            audio_codec=audio.codec_context.name if audio else None,
            width=video.codec_context.width,
            height=video.codec_context.height,
            pix_fmt=video.codec_context.pix_fmt or "",
            fps=fps,
            frame_count=frame_count,
            duration=duration,
            audio_duration=audio_duration,
            audio_channels=audio.codec_context.channels if audio else None,
            audio_sample_rate=audio.codec_context.sample_rate if audio else None,
            moov_before_mdat=moov_before_mdat(path),
            tags=dict(container.metadata),
        )


def _seconds(duration: int | None, time_base: object) -> float:
    if not duration or time_base is None:
        return 0.0
    return float(duration * time_base)  # type: ignore[operator]


def moov_before_mdat(path: Path) -> bool:
    """Scan the top-level MP4 boxes: is ``moov`` (the index) ahead of ``mdat`` (the data)?"""
    order = [box for box in top_level_boxes(path) if box in (b"moov", b"mdat")]
    return bool(order) and order[0] == b"moov"


def top_level_boxes(path: Path) -> list[bytes]:
    """Types of the top-level boxes in file order, reading only their 8- or 16-byte headers."""
    boxes: list[bytes] = []
    with path.open("rb") as file:
        size_total = path.stat().st_size
        offset = 0
        while offset + 8 <= size_total:
            box_type, box_size = _read_box_header(file, offset, size_total)
            boxes.append(box_type)
            if box_size <= 0:
                break
            offset += box_size
    return boxes


def _read_box_header(file: BinaryIO, offset: int, size_total: int) -> tuple[bytes, int]:
    file.seek(offset)
    size, box_type = struct.unpack(">I4s", file.read(8))
    if size == 1:  # a 64-bit size follows the type
        (size,) = struct.unpack(">Q", file.read(8))
    elif size == 0:  # the box runs to the end of the file
        size = size_total - offset
    elif size < 8:  # corrupt header: stop rather than loop
        size = -1
    return box_type, size
