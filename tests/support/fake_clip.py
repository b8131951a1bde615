"""The clip the fake upstream server (``tests/support/fake_upstream.py``) hands out: a moving
pattern, made once per shape with PyAV and kept in memory for the whole test process."""

from __future__ import annotations

import io
import threading
from dataclasses import dataclass
from fractions import Fraction
from functools import lru_cache
from typing import Any

import av
import numpy as np

AUDIO_RATE = 48_000


@dataclass(frozen=True)
class ClipShape:
    size: str
    """``"WIDTHxHEIGHT"``."""
    seconds: float
    fps: int = 24
    audio: bool = False
    codec: str = "libx264"


_lock = threading.Lock()


def make_clip(shape: ClipShape) -> bytes:
    """The MP4 for ``shape``; the first call per shape encodes it (a second or two at 720p)."""
    with _lock:  # two downloads at once must not both encode it
        return _make_clip(shape)


@lru_cache(maxsize=16)
def _make_clip(shape: ClipShape) -> bytes:
    width, height = (int(n) for n in shape.size.split("x"))
    count = max(1, round(shape.seconds * shape.fps))
    buffer = io.BytesIO()
    with av.open(buffer, "w", format="mp4") as container:
        video: Any = container.add_stream(shape.codec, rate=shape.fps)
        video.width, video.height, video.pix_fmt = width, height, "yuv420p"
        if shape.codec == "libx264":
            video.options = {"preset": "ultrafast"}
        sound: Any = None
        if shape.audio:
            sound = container.add_stream("aac", rate=AUDIO_RATE, layout="stereo")
        background = _background(width, height)
        for index in range(count):
            frame = av.VideoFrame.from_ndarray(_picture(background, index, count), "rgb24")
            frame.pts = index
            container.mux(video.encode(frame))
        container.mux(video.encode(None))
        if sound is not None:
            _write_tone(container, sound, shape.seconds)
    return buffer.getvalue()


def _background(width: int, height: int) -> np.ndarray[Any, np.dtype[np.uint8]]:
    """A diagonal colour gradient twice as wide as the picture, so it can scroll."""
    x = np.linspace(0, 4 * np.pi, 2 * width, dtype=np.float32)[np.newaxis, :]
    y = np.linspace(0, np.pi, height, dtype=np.float32)[:, np.newaxis]
    channels = [127 + 100 * np.sin(x + y + phase) for phase in (0.0, 2.1, 4.2)]
    return np.stack(channels, axis=-1).astype(np.uint8)


def _picture(
    background: np.ndarray[Any, np.dtype[np.uint8]], index: int, count: int
) -> np.ndarray[Any, np.dtype[np.uint8]]:
    """The gradient scrolled by ``index`` and a white square crossing the picture."""
    height, double_width, _ = background.shape
    width = double_width // 2
    shift = index * 8 % width
    picture = np.ascontiguousarray(background[:, shift : shift + width])
    side = max(8, height // 6)
    left = (width - side) * index // max(1, count - 1)
    top = (height - side) // 2
    picture[top : top + side, left : left + side] = 255
    return picture


def _write_tone(container: Any, sound: Any, seconds: float) -> None:
    t = np.arange(round(seconds * AUDIO_RATE), dtype=np.float32) / AUDIO_RATE
    tone = np.tile(0.25 * np.sin(2 * np.pi * 330 * t), (2, 1)).astype(np.float32)
    for start in range(0, tone.shape[1], 1024):
        chunk = np.ascontiguousarray(tone[:, start : start + 1024])
        frame = av.AudioFrame.from_ndarray(chunk, format="fltp", layout="stereo")
        frame.sample_rate, frame.pts, frame.time_base = AUDIO_RATE, start, Fraction(1, AUDIO_RATE)
        container.mux(sound.encode(frame))
    container.mux(sound.encode(None))
