"""From an engine's output to the three files a finished job serves.

``render_media`` is what the worker calls: a ``VideoClip`` is encoded while its frames stream
in; a ``RenderedFile`` (an engine that made its own MP4) is checked against the spec and
remuxed so the index comes first and our tags are in it. Both get a thumbnail and a
spritesheet (layout in ``reelforge.media.previews``).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Final

import av
import numpy as np

from reelforge.domain.errors import EngineError
from reelforge.domain.limits import FPS
from reelforge.domain.specs import GenerationSpec
from reelforge.engines.base import EngineOutput, RenderedFile, VideoClip
from reelforge.media.encode import ENCODE, EncodeSettings, ProgressCallback, encode_clip
from reelforge.media.encode import write_atomically as _write_atomically
from reelforge.media.previews import PreviewCollector
from reelforge.media.probe import ProbeInfo, probe

VIDEO_NAME: Final = "video.mp4"
THUMBNAIL_NAME: Final = "thumbnail.webp"
SPRITESHEET_NAME: Final = "spritesheet.jpg"
DURATION_TOLERANCE_S: Final = 0.1
"""How far a finished file's duration may be from the spec (e.g. 97 frames for a 4 s clip)."""


@dataclass(frozen=True, slots=True)
class MediaFiles:
    """The files of a finished job, all inside the ``workdir`` given to ``render_media``."""

    video: Path
    thumbnail: Path
    spritesheet: Path


def render_media(
    output: EngineOutput,
    spec: GenerationSpec,
    workdir: Path,
    on_progress: ProgressCallback | None = None,
    *,
    settings: EncodeSettings = ENCODE,
) -> MediaFiles:
    """Write ``video.mp4``, ``thumbnail.webp`` and ``spritesheet.jpg`` into ``workdir``.

    Raises ``EngineError`` when the output does not match the spec. Exceptions raised by a
    clip's frame iterator (``JobCancelled``, ``LeaseLost``) propagate, and no video is left.
    """
    workdir.mkdir(parents=True, exist_ok=True)
    files = MediaFiles(
        video=workdir / VIDEO_NAME,
        thumbnail=workdir / THUMBNAIL_NAME,
        spritesheet=workdir / SPRITESHEET_NAME,
    )
    previews = PreviewCollector(spec.frame_count, spec.width, spec.height)
    if isinstance(output, VideoClip):
        _check_clip(output, spec)
        encode_clip(output, (spec.width, spec.height), files.video, previews, on_progress, settings)
    elif isinstance(output, RenderedFile):
        info = check_rendered_file(output.path, spec)
        remux_faststart(output.path, files.video, output.metadata, has_audio=bool(info.audio_codec))
        _collect_previews_from_file(files.video, previews)
        if on_progress is not None:
            on_progress(1.0)
    else:
        kind = type(output).__name__
        raise EngineError(f"engine returned a {kind}; expected a VideoClip or a RenderedFile")
    try:
        previews.write(files.thumbnail, files.spritesheet)
    except ValueError as exc:
        raise EngineError(f"{VIDEO_NAME} has too few frames for the previews: {exc}") from exc
    return files


def _check_clip(clip: VideoClip, spec: GenerationSpec) -> None:
    if clip.fps != FPS or clip.frame_count != spec.frame_count:
        raise EngineError(
            f"engine clip is {clip.frame_count} frames at {clip.fps} fps; the spec needs exactly "
            f"{spec.frame_count} frames at {FPS} fps ({spec.seconds} s)"
        )
    if clip.sample_rate <= 0:
        raise EngineError(f"engine audio sample rate {clip.sample_rate} is not positive")


def check_rendered_file(path: Path, spec: GenerationSpec) -> ProbeInfo:
    """Probe an engine's finished MP4 and make sure it is what the spec asked for."""
    if not path.is_file():
        raise EngineError(f"engine returned {path}, which does not exist")
    info = probe(path)
    problems = []
    if (info.width, info.height) != (spec.width, spec.height):
        problems.append(f"size is {info.width}x{info.height}, not {spec.size}")
    if abs(info.duration - spec.seconds) > DURATION_TOLERANCE_S:
        problems.append(f"video lasts {info.duration:.3f} s, not {spec.seconds} s")
    if info.video_codec != "h264":
        problems.append(f"video codec is {info.video_codec}, not h264")
    if info.audio_codec not in (None, "aac"):
        problems.append(f"audio codec is {info.audio_codec}, not aac")
    if problems:
        raise EngineError(f"engine's video does not match the request: {'; '.join(problems)}")
    return info


def remux_faststart(source: Path, dest: Path, tags: dict[str, str], *, has_audio: bool) -> None:
    """Copy the first video (and audio) stream into an MP4 with the index first and ``tags``."""

    def write(path: Path) -> None:
        with (
            av.open(str(source)) as src,
            av.open(
                str(path), mode="w", format="mp4", options={"movflags": ENCODE.movflags}
            ) as out,
        ):
            inputs = [src.streams.video[0], *(src.streams.audio[:1] if has_audio else [])]
            outputs = {stream.index: out.add_stream_from_template(stream) for stream in inputs}
            for key, value in tags.items():
                out.metadata[key] = value
            for packet in src.demux(inputs):
                if packet.dts is None:  # the demuxer's end-of-stream marker
                    continue
                packet.stream = outputs[packet.stream.index]
                out.mux(packet)

    _write_atomically(dest, write)


def _collect_previews_from_file(path: Path, previews: PreviewCollector) -> None:
    with av.open(str(path)) as container:
        for index, frame in enumerate(container.decode(video=0)):
            if previews.wants(index):
                previews.offer(index, np.asarray(frame.to_ndarray(format="rgb24"), np.uint8))
            if index >= previews.last_wanted:
                break
