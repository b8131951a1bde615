"""Make a video from elsewhere (an upstream server's MP4) meet our contract exactly.

``conform_video`` probes the file. When it already meets the contract it comes back as a
``RenderedFile`` (``render_media`` only remuxes it, nothing is re-encoded); otherwise as a
``VideoClip`` whose frames are decoded lazily from the file and whose soundtrack is fitted, so
``render_media`` encodes exactly what the spec asks for. When only the sound is wrong, the
video stream is copied untouched into a file with a fitted AAC track (a ``RenderedFile``).
Every change is described in one line (``Conformed.changes``) and joined into the output's
``conform`` tag ("none" when nothing changed), so a job's record says what was done.

The contract: the spec's size, H.264 in yuv420p, 24 fps (``FPS``), a duration within
``DURATION_TOLERANCE_S`` of the spec's seconds, and an AAC stereo track of the same length.

Rules, in the order they apply:
- **Size.** A different aspect ratio is scaled to *cover* the frame and centre-cropped when
  the crop loses at most ``MAX_COVER_CROP`` (10 %) of the picture, e.g. 1280x704 -> 1280x720
  loses 2 %. Beyond that (portrait delivered for landscape, 4:3, square) cropping would cut
  the subject, so the picture is *fitted* inside black bars (letterbox or pillarbox) instead.
  Shrinking uses area averaging (``INTER_AREA``), enlarging bicubic (``INTER_CUBIC``).
- **Frame rate.** Output frame ``i`` shows the source frame whose timestamp is nearest to
  ``i / 24`` s (no blending: motion stays sharp, 30 -> 24 drops one frame in five).
- **Length.** Too short: the last frame is held until the spec's length. Too long: trimmed.
- **Audio.** Decoded and resampled to 48 kHz stereo float32, then trimmed or padded with
  silence to exactly the video's length. No audio, or audio that cannot be decoded: silence.
- **Colour.** Untagged HD sources are read as BT.709, as players do; ours are written BT.709.

Memory stays flat: the frame iterator holds at most two decoded frames and one converted
picture; the soundtrack (at most 12 s, ~4.6 MB) is decoded up front.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any, Final

import av
import cv2
import numpy as np
from av.video.reformatter import Colorspace

from reelforge.domain.errors import EngineError
from reelforge.domain.limits import FPS
from reelforge.domain.specs import GenerationSpec
from reelforge.engines.base import EngineOutput, Frame, JobControl, RenderedFile, VideoClip
from reelforge.media.conform_audio import CHANNELS, SAMPLE_RATE, read_audio, replace_audio
from reelforge.media.probe import ProbeInfo, probe
from reelforge.media.render import DURATION_TOLERANCE_S

MAX_COVER_CROP: Final = 0.10
"""The largest share of the picture a centre crop may cut; beyond it the video is fitted."""
CONFORM_TAG: Final = "conform"
AUDIO_FIXED_SUFFIX: Final = ".audio-fixed.mp4"
"""``<stem><suffix>`` next to the input holds a copy whose only change is its audio track."""

_UNSPECIFIED_COLORSPACE: Final = 2  # AVCOL_SPC_UNSPECIFIED
_FPS_TOLERANCE: Final = 0.01


@dataclass(frozen=True, slots=True)
class Conformed:
    """What ``conform_video`` made of a file: the output for ``render_media`` and what changed."""

    output: EngineOutput
    changes: list[str]


def conform_video(
    path: Path,
    spec: GenerationSpec,
    *,
    metadata: dict[str, str],
    control: JobControl | None = None,
) -> Conformed:
    """Make ``path`` meet ``spec``; ``EngineError`` when it holds no decodable video.

    ``metadata`` goes into the output's tags, plus ``conform`` (the changes, or "none").
    When only the audio misses the contract, a copy with the video stream untouched and a new
    AAC track is written next to ``path`` (``AUDIO_FIXED_SUFFIX``) and returned as the file.
    ``control.step`` is called after each frame the clip yields, so a cancel stops the encode.
    """
    info = probe(path)
    _check_decodable(path)
    video_changes = _video_changes(info, spec)
    if not video_changes and _audio_complies(info, spec):
        return Conformed(RenderedFile(path, {**metadata, CONFORM_TAG: "none"}), [])
    audio, audio_changes = read_audio(path, info, spec.seconds)
    # e.g. an AAC track whose length the file does not state: refitted, nothing worth a line
    changes = [*video_changes, *audio_changes] or ["re-encoded the audio track to fit the video"]
    tags = {**metadata, CONFORM_TAG: "; ".join(changes)}
    if not video_changes:  # only the sound is wrong: copy the video stream, encode the audio
        fixed = path.with_name(f"{path.stem}{AUDIO_FIXED_SUFFIX}")
        replace_audio(path, fixed, audio)
        return Conformed(RenderedFile(fixed, tags), changes)
    clip = VideoClip(
        frames=_frames(path, spec, control),
        frame_count=spec.frame_count,
        fps=FPS,
        audio=audio,
        sample_rate=SAMPLE_RATE,
        metadata=tags,
    )
    return Conformed(clip, changes)


# --- what differs from the contract -------------------------------------------------------


def _video_changes(info: ProbeInfo, spec: GenerationSpec) -> list[str]:
    """One line per way the video stream misses the contract; empty when it meets it."""
    changes: list[str] = []
    if (info.width, info.height) != (spec.width, spec.height):
        changes.append(_describe_geometry(plan_geometry(info.width, info.height, spec)))
    if abs(info.fps - FPS) > _FPS_TOLERANCE:
        changes.append(f"frame rate {_number(info.fps)} fps resampled to {FPS} fps")
    duration = _duration(info)
    if duration < spec.seconds - DURATION_TOLERANCE_S:
        changes.append(f"padded {duration:.2f} s to {spec.seconds} s by holding the last frame")
    elif duration > spec.seconds + DURATION_TOLERANCE_S:
        changes.append(f"trimmed {duration:.2f} s to {spec.seconds} s")
    if info.video_codec != "h264":
        changes.append(f"re-encoded {info.video_codec} as h264")
    elif info.pix_fmt != "yuv420p":
        changes.append(f"re-encoded {info.pix_fmt} as yuv420p")
    return changes


def _audio_complies(info: ProbeInfo, spec: GenerationSpec) -> bool:
    return (
        info.audio_codec == "aac"
        and info.audio_channels == CHANNELS
        and info.audio_duration is not None
        and abs(info.audio_duration - spec.seconds) <= DURATION_TOLERANCE_S
    )


def _duration(info: ProbeInfo) -> float:
    """Seconds of video; some containers leave the stream's duration out."""
    if info.duration > 0:
        return info.duration
    return info.frame_count / info.fps if info.fps > 0 else 0.0


def _number(value: float) -> str:
    return f"{value:.2f}".rstrip("0").rstrip(".")


def _check_decodable(path: Path) -> None:
    try:
        with av.open(str(path)) as container:
            if next(container.decode(video=0), None) is None:
                raise EngineError(f"{path.name} has a video stream but no decodable frame")
    except av.FFmpegError as exc:
        raise EngineError(f"{path.name} could not be decoded: {exc}") from exc


# --- geometry --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Geometry:
    """How one source size becomes the output size: crop, then resize, then place on black."""

    source: tuple[int, int]
    crop: tuple[int, int, int, int]
    """x, y, width, height of the part of the source that is kept."""
    scaled: tuple[int, int]
    offset: tuple[int, int]
    """Where the scaled picture's top-left corner sits in the output; (0, 0) unless fitted."""
    output: tuple[int, int]
    mode: str
    """"same", "cover" or "fit"."""
    lost: float
    """The share of the picture a cover crop would cut (what decided cover or fit)."""


def plan_geometry(width: int, height: int, spec: GenerationSpec) -> Geometry:
    """Cover with a centre crop when it cuts at most ``MAX_COVER_CROP``; fit otherwise."""
    out_w, out_h = spec.width, spec.height
    full = (0, 0, width, height)
    if (width, height) == (out_w, out_h):
        return Geometry((width, height), full, (out_w, out_h), (0, 0), (out_w, out_h), "same", 0)
    cover = max(out_w / width, out_h / height)
    crop_w = min(width, round(out_w / cover))
    crop_h = min(height, round(out_h / cover))
    lost = 1 - (crop_w * crop_h) / (width * height)
    if lost <= MAX_COVER_CROP:
        crop = ((width - crop_w) // 2, (height - crop_h) // 2, crop_w, crop_h)
        return Geometry(
            (width, height), crop, (out_w, out_h), (0, 0), (out_w, out_h), "cover", lost
        )
    fit = min(out_w / width, out_h / height)
    scaled = (min(out_w, round(width * fit)), min(out_h, round(height * fit)))
    offset = ((out_w - scaled[0]) // 2, (out_h - scaled[1]) // 2)
    return Geometry((width, height), full, scaled, offset, (out_w, out_h), "fit", lost)


def _describe_geometry(geometry: Geometry) -> str:
    (src_w, src_h), (out_w, out_h) = geometry.source, geometry.output
    if geometry.mode == "cover" and geometry.crop[2:] == geometry.source:
        return f"scaled {src_w}x{src_h} to {out_w}x{out_h}"
    if geometry.mode == "cover":
        return f"scaled {src_w}x{src_h} to {out_w}x{out_h} (cover, centre crop)"
    bars = "pillarbox" if geometry.offset[0] > 0 else "letterbox"
    return (
        f"fitted {src_w}x{src_h} into {out_w}x{out_h} with black bars ({bars}): "
        f"a centre crop would have cut {geometry.lost:.0%} of the picture"
    )


class _Converter:
    """Source frame -> RGB array of the output size, the last result cached (held frames)."""

    def __init__(self, spec: GenerationSpec) -> None:
        self._spec = spec
        self._plans: dict[tuple[int, int], Geometry] = {}
        self._last: tuple[Any, Frame] | None = None

    def __call__(self, frame: Any) -> Frame:
        if self._last is not None and self._last[0] is frame:
            return self._last[1]
        size = (frame.width, frame.height)
        plan = self._plans.get(size) or self._plans.setdefault(
            size, plan_geometry(*size, self._spec)
        )
        picture = _apply(plan, _to_rgb(frame))
        self._last = (frame, picture)
        return picture


def _to_rgb(frame: Any) -> Frame:
    if frame.colorspace == _UNSPECIFIED_COLORSPACE and frame.height >= 720:
        frame = frame.reformat(format="rgb24", src_colorspace=Colorspace.ITU709)
    return np.asarray(frame.to_ndarray(format="rgb24"), dtype=np.uint8)


def _apply(plan: Geometry, rgb: Frame) -> Frame:
    x, y, w, h = plan.crop
    picture = rgb[y : y + h, x : x + w]
    if (w, h) != plan.scaled:
        shrinking = plan.scaled[0] < w
        interpolation = cv2.INTER_AREA if shrinking else cv2.INTER_CUBIC
        picture = np.asarray(
            cv2.resize(picture, plan.scaled, interpolation=interpolation), dtype=np.uint8
        )
    if plan.mode != "fit":
        return np.ascontiguousarray(picture, dtype=np.uint8)
    out_w, out_h = plan.output
    canvas = np.zeros((out_h, out_w, 3), dtype=np.uint8)
    (left, top), (sw, sh) = plan.offset, plan.scaled
    canvas[top : top + sh, left : left + sw] = picture
    return canvas


# --- frames ----------------------------------------------------------------------------------


def _frames(path: Path, spec: GenerationSpec, control: JobControl | None) -> Iterator[Frame]:
    """Exactly ``spec.frame_count`` frames at 24 fps; the file is opened on the first ``next``."""
    convert = _Converter(spec)
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        picker = _NearestFrame(_timed_frames(container, stream, path))
        for index in range(spec.frame_count):
            yield convert(picker.at(Fraction(index, FPS)))
            if control is not None:
                control.step(index + 1, spec.frame_count, "conforming the upstream video")


def _timed_frames(container: Any, stream: Any, path: Path) -> Iterator[tuple[Fraction, Any]]:
    """Decoded frames with their exact time in seconds from the first frame (exact, so a
    source frame exactly between two output frames always goes the same way)."""
    start: Fraction | None = None
    rate = Fraction(stream.average_rate or stream.guessed_rate or FPS)
    try:
        for index, frame in enumerate(container.decode(stream)):
            known = frame.pts is not None and frame.time_base is not None
            time = frame.pts * Fraction(frame.time_base) if known else index / rate
            start = time if start is None else start
            yield time - start, frame
    except av.FFmpegError as exc:
        raise EngineError(f"{path.name} could not be decoded: {exc}") from exc


class _NearestFrame:
    """Walks the source once: ``at(t)`` (t never decreasing) is the frame nearest to ``t``;
    past the end it keeps answering the last frame, which is what holds it."""

    def __init__(self, source: Iterator[tuple[Fraction, Any]]) -> None:
        self._source = source
        first = next(source, None)
        if first is None:
            raise EngineError("the upstream video has no decodable frame")
        self._current: tuple[Fraction, Any] = first
        self._next = next(source, None)

    def at(self, t: Fraction) -> Any:
        while self._next is not None and abs(self._next[0] - t) <= abs(self._current[0] - t):
            self._current, self._next = self._next, next(self._source, None)
        return self._current[1]
