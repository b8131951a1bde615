"""The soundtrack of a conformed video: 48 kHz stereo float32, exactly as long as the video.

``read_audio`` decodes and fits a file's first audio track (silence when it has none or it
cannot be decoded) and says what it changed. ``replace_audio`` writes a copy of a file whose
video already meets the contract with that soundtrack as its AAC track, copying the video
stream's packets untouched, so a good video with bad or missing sound is never re-encoded.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Final

import av
import numpy as np

from reelforge.engines.base import Audio
from reelforge.media.encode import ENCODE, fit_audio, write_atomically
from reelforge.media.probe import ProbeInfo
from reelforge.media.render import DURATION_TOLERANCE_S

SAMPLE_RATE: Final = 48_000
CHANNELS: Final = 2
_CHUNK: Final = 1024
"""Samples per frame handed to the AAC encoder (its own frame size)."""


def read_audio(path: Path, info: ProbeInfo, seconds: int) -> tuple[Audio, list[str]]:
    """The soundtrack as (2, seconds * 48000) float32, and what was changed to get it."""
    samples = seconds * SAMPLE_RATE
    if info.audio_codec is None:
        silence = np.zeros((CHANNELS, samples), dtype=np.float32)
        return silence, ["added a silent AAC track (upstream video had no audio)"]
    try:
        decoded = _decode_audio(path, samples + SAMPLE_RATE)
    except av.FFmpegError as exc:
        silence = np.zeros((CHANNELS, samples), dtype=np.float32)
        return silence, [f"replaced audio that could not be decoded ({exc}) with silence"]
    return fit_audio(decoded, samples, CHANNELS), _audio_changes(info, decoded, seconds)


def _decode_audio(path: Path, limit: int) -> Audio:
    """Up to about ``limit`` samples of the first audio stream, as 48 kHz stereo float32."""
    resampler = av.AudioResampler(format="fltp", layout="stereo", rate=SAMPLE_RATE)
    chunks: list[Audio] = []
    total = 0
    with av.open(str(path)) as container:
        for frame in container.decode(audio=0):
            frame.pts = None  # the resampler re-times; gaps in the source's pts must not matter
            for out in resampler.resample(frame):
                chunks.append(np.asarray(out.to_ndarray(), dtype=np.float32))
                total += chunks[-1].shape[1]
            if total >= limit:
                break
        else:
            chunks.extend(np.asarray(o.to_ndarray(), np.float32) for o in resampler.resample(None))
    if not chunks:
        return np.zeros((CHANNELS, 0), dtype=np.float32)
    return np.concatenate(chunks, axis=1)


def _audio_changes(info: ProbeInfo, decoded: Audio, seconds: int) -> list[str]:
    changes = []
    if info.audio_codec != "aac":
        changes.append(f"re-encoded {info.audio_codec} audio as AAC")
    rate, channels = info.audio_sample_rate, info.audio_channels
    if (rate, channels) != (SAMPLE_RATE, CHANNELS):
        layout = {1: "mono", 2: "stereo"}.get(channels or 0, f"{channels} channels")
        changes.append(f"audio resampled from {rate} Hz {layout} to {SAMPLE_RATE} Hz stereo")
    length = info.audio_duration or decoded.shape[1] / SAMPLE_RATE
    if length < seconds - DURATION_TOLERANCE_S:
        changes.append(f"audio padded with silence from {length:.2f} s to {seconds} s")
    elif length > seconds + DURATION_TOLERANCE_S:
        changes.append(f"audio trimmed from {length:.2f} s to {seconds} s")
    return changes


def replace_audio(source: Path, dest: Path, audio: Audio) -> None:
    """Write ``dest``: ``source``'s first video stream copied packet by packet, plus ``audio``
    (48 kHz stereo) encoded as AAC and interleaved with it by time."""

    def write(path: Path) -> None:
        with av.open(str(source)) as src, av.open(str(path), "w", format="mp4") as out:
            video_in = src.streams.video[0]
            video_out = out.add_stream_from_template(video_in)
            sound: Any = out.add_stream(ENCODE.audio_codec, rate=SAMPLE_RATE, layout="stereo")
            sound.bit_rate = ENCODE.audio_bitrate
            done = 0  # samples encoded so far
            for packet in src.demux(video_in):
                if packet.dts is None:  # the demuxer's end-of-stream marker
                    continue
                until = max(0, round(float(packet.dts * packet.time_base) * SAMPLE_RATE))
                done = _encode_audio(out, sound, audio, done, min(until, audio.shape[1]))
                packet.stream = video_out
                out.mux(packet)
            _encode_audio(out, sound, audio, done, audio.shape[1])
            out.mux(sound.encode(None))

    write_atomically(dest, write)


def _encode_audio(out: Any, sound: Any, audio: Audio, start: int, until: int) -> int:
    """Encode whole chunks of ``audio`` from ``start`` up to ``until``; return where it stopped
    (the last, shorter chunk only once ``until`` is the end)."""
    end = audio.shape[1]
    while start < until and (start + _CHUNK <= until or until == end):
        stop = min(start + _CHUNK, end)
        chunk = np.ascontiguousarray(audio[:, start:stop])
        frame = av.AudioFrame.from_ndarray(chunk, format="fltp", layout="stereo")
        frame.sample_rate, frame.pts = SAMPLE_RATE, start
        out.mux(sound.encode(frame))
        start = stop
    return start
