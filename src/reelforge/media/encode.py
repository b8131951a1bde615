"""Write MP4s: H.264 (libx264, yuv420p, BT.709) + AAC stereo, index first (faststart), tags.

``ENCODE`` holds every encoder choice in one place; the benchmark's ffmpeg command line is
built from the same object (``EncodeSettings.ffmpeg_output_args``) so both encode alike.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import av
import numpy as np
from av.video.reformatter import ColorRange, Colorspace

from reelforge.domain.errors import EngineError
from reelforge.engines.base import Audio, Frame, VideoClip
from reelforge.media.previews import PreviewCollector

_BT709: Final = 1  # AVCOL_PRI_BT709 / AVCOL_TRC_BT709 / AVCOL_SPC_BT709
_MPEG_RANGE: Final = 1  # AVCOL_RANGE_MPEG: "limited" 16-235, what players expect from H.264


@dataclass(frozen=True, slots=True)
class EncodeSettings:
    """x264 ``veryfast`` at CRF 20: visually clean 720p at a few Mbit/s, ~real time on 2 cores.

    ``use_metadata_tags`` makes the MP4 muxer keep our own keys (engine, model, ...); without
    it only the iTunes set (title, comment, ...) survives.
    """

    video_codec: str = "libx264"
    preset: str = "veryfast"
    crf: int = 20
    pix_fmt: str = "yuv420p"
    thread_type: str = "FRAME"
    audio_codec: str = "aac"
    audio_bitrate: int = 160_000
    audio_channels: int = 2
    movflags: str = "+faststart+use_metadata_tags"

    def video_options(self) -> dict[str, str]:
        return {"preset": self.preset, "crf": str(self.crf)}

    def ffmpeg_output_args(self) -> list[str]:
        """The same choices as ``ffmpeg`` command-line output options."""
        return [
            *("-c:v", self.video_codec, "-preset", self.preset, "-crf", str(self.crf)),
            *("-pix_fmt", self.pix_fmt, "-colorspace", "bt709", "-color_primaries", "bt709"),
            *("-color_trc", "bt709", "-color_range", "tv"),
            *("-c:a", self.audio_codec, "-b:a", str(self.audio_bitrate)),
            *("-ac", str(self.audio_channels), "-movflags", self.movflags),
        ]


ENCODE: Final = EncodeSettings()

ProgressCallback = Callable[[float], None]


def write_atomically(dest: Path, write: Callable[[Path], None]) -> None:
    """Run ``write(tmp)`` then rename onto ``dest``; on any error (cancel included) delete tmp.

    A reader never sees a half-written ``dest``, and a cancelled job leaves nothing behind.
    """
    tmp = dest.with_name(f".{dest.stem}.partial{dest.suffix}")
    try:
        write(tmp)
        os.replace(tmp, dest)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def encode_clip(
    clip: VideoClip,
    size: tuple[int, int],
    dest: Path,
    previews: PreviewCollector,
    on_progress: ProgressCallback | None = None,
    settings: EncodeSettings = ENCODE,
) -> None:
    """Encode ``clip`` (``size`` = (width, height)) to ``dest``, streaming its frames.

    Each frame is checked, offered to ``previews`` and encoded, then dropped, so memory stays
    flat however long the clip is. Exceptions from the frame iterator propagate unchanged.
    """
    audio = fit_audio(clip.audio, clip.frame_count * clip.sample_rate // clip.fps)

    def write(path: Path) -> None:
        with _open_output(path, clip.metadata, settings) as container:
            video, sound = _add_streams(container, clip, size, settings)
            encoder = _ClipEncoder(container, video, sound, audio, clip.frame_count)
            try:
                _encode_frames(clip, size, encoder, previews, on_progress)
            finally:
                _close_iterator(clip.frames)
            encoder.flush()

    write_atomically(dest, write)
    if on_progress is not None:
        on_progress(1.0)


def _encode_frames(
    clip: VideoClip,
    size: tuple[int, int],
    encoder: _ClipEncoder,
    previews: PreviewCollector,
    on_progress: ProgressCallback | None,
) -> None:
    width, height = size
    report_every = max(1, clip.frame_count // 50)
    count = 0
    for index, frame in enumerate(clip.frames):
        if index >= clip.frame_count:
            raise EngineError(f"engine yielded more than the {clip.frame_count} frames it promised")
        _check_frame(frame, index, width, height)
        previews.offer(index, frame)
        encoder.add(index, frame)
        count = index + 1
        if on_progress is not None and count % report_every == 0:
            on_progress(count / clip.frame_count)
    if count != clip.frame_count:
        raise EngineError(f"engine yielded {count} frames but promised {clip.frame_count}")


def _check_frame(frame: Frame, index: int, width: int, height: int) -> None:
    expected = (height, width, 3)
    if not isinstance(frame, np.ndarray) or frame.shape != expected or frame.dtype != np.uint8:
        got = f"{frame.shape} {frame.dtype}" if isinstance(frame, np.ndarray) else type(frame)
        raise EngineError(
            f"engine frame {index} is {got}; expected an RGB uint8 array of shape {expected} "
            f"for size {width}x{height}"
        )


def fit_audio(audio: Audio, samples: int, channels: int = 2) -> Audio:
    """Shape audio as (channels, samples) float32 in [-1, 1]: pad with silence or trim.

    Mono is duplicated to both sides; more channels than wanted is an engine error.
    """
    data = np.asarray(audio, dtype=np.float32)
    if data.ndim == 1:
        data = data[np.newaxis, :]
    if data.ndim != 2 or data.shape[0] not in (1, channels):
        raise EngineError(f"engine audio has shape {data.shape}; expected (channels, samples)")
    if data.shape[0] == 1:
        data = np.repeat(data, channels, axis=0)
    fitted = np.zeros((channels, samples), dtype=np.float32)
    keep = min(samples, data.shape[1])
    fitted[:, :keep] = data[:, :keep]
    return np.clip(np.nan_to_num(fitted), -1.0, 1.0)


@contextlib.contextmanager
def _open_output(path: Path, tags: dict[str, str], settings: EncodeSettings) -> Iterator[Any]:
    options = {"movflags": settings.movflags} if settings.movflags else {}
    container = av.open(str(path), mode="w", format="mp4", options=options)
    try:
        for key, value in tags.items():
            container.metadata[key] = value
        yield container
    except BaseException:
        # The file is about to be deleted; an error while finishing it must not hide the
        # reason we stopped (JobCancelled, LeaseLost, a bad frame).
        with contextlib.suppress(Exception):
            container.close()
        raise
    container.close()


def _add_streams(
    container: Any, clip: VideoClip, size: tuple[int, int], settings: EncodeSettings
) -> tuple[Any, Any]:
    video = container.add_stream(
        settings.video_codec, rate=clip.fps, options=settings.video_options()
    )
    video.width, video.height = size
    video.pix_fmt = settings.pix_fmt
    video.codec_context.thread_type = settings.thread_type
    codec = video.codec_context
    codec.colorspace = codec.color_primaries = codec.color_trc = _BT709
    codec.color_range = _MPEG_RANGE
    sound = container.add_stream(settings.audio_codec, rate=clip.sample_rate, layout="stereo")
    sound.bit_rate = settings.audio_bitrate
    return video, sound


class _ClipEncoder:
    """Feeds one video frame and its share of the soundtrack at a time, so the muxer
    interleaves audio with video instead of buffering one of them."""

    def __init__(
        self, container: Any, video: Any, sound: Any, audio: Audio, frame_count: int
    ) -> None:
        self._container = container
        self._video = video
        self._sound = sound
        self._audio = audio
        self._frame_count = frame_count

    def add(self, index: int, frame: Frame) -> None:
        picture = av.VideoFrame.from_ndarray(np.ascontiguousarray(frame), format="rgb24")
        picture = picture.reformat(
            format="yuv420p",
            dst_colorspace=Colorspace.ITU709,
            dst_color_range=ColorRange.MPEG,
            dst_color_trc=_BT709,
            dst_color_primaries=_BT709,
        )
        picture.pts = index
        self._container.mux(self._video.encode(picture))
        self._add_audio(index)

    def _add_audio(self, index: int) -> None:
        total = self._audio.shape[1]
        start = index * total // self._frame_count
        stop = (index + 1) * total // self._frame_count
        if stop <= start:
            return
        chunk = np.ascontiguousarray(self._audio[:, start:stop])
        samples = av.AudioFrame.from_ndarray(chunk, format="fltp", layout="stereo")
        samples.sample_rate = self._sound.codec_context.sample_rate
        samples.pts = start
        self._container.mux(self._sound.encode(samples))

    def flush(self) -> None:
        self._container.mux(self._video.encode(None))
        self._container.mux(self._sound.encode(None))


def _close_iterator(frames: Iterator[Frame]) -> None:
    close = getattr(frames, "close", None)
    if callable(close):
        close()
