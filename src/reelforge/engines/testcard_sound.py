"""The testcard engine's soundtrack: deterministic from a seeded generator, A/V-sync friendly.

48 kHz stereo: a soft tone gliding around a seed-chosen note, panned slowly, plus a short tick
on every whole second (the picture flashes a dot at the same instants).
"""

from __future__ import annotations

from typing import Final

import numpy as np
import numpy.typing as npt

from reelforge.engines.base import Audio

SAMPLE_RATE: Final = 48_000
_NOTES_HZ: Final = (196.0, 220.0, 246.94, 261.63, 293.66, 329.63, 392.0)


def synthesize_audio(seconds: int, rng: np.random.Generator) -> Audio:
    """Stereo float32 (2, seconds * 48000): a gliding two-harmonic tone plus a tick per second."""
    samples = seconds * SAMPLE_RATE
    t = np.arange(samples, dtype=np.float64) / SAMPLE_RATE
    base = float(rng.choice(_NOTES_HZ))
    glide_semitones = float(rng.uniform(1.0, 4.0))
    frequency = base * 2.0 ** (glide_semitones * np.sin(np.pi * t / seconds) / 12.0)
    phase = 2.0 * np.pi * np.cumsum(frequency) / SAMPLE_RATE
    tone = 0.16 * np.sin(phase) + 0.05 * np.sin(2.0 * phase)
    edge = min(samples // 2, SAMPLE_RATE // 20)  # 50 ms fades: no click at start or end
    envelope = np.ones(samples)
    envelope[:edge] = np.linspace(0.0, 1.0, edge)
    envelope[samples - edge :] = np.linspace(1.0, 0.0, edge)
    pan = 0.5 + 0.35 * np.sin(2.0 * np.pi * t / float(rng.uniform(3.0, 7.0)))
    tick = _ticks(samples, float(rng.uniform(1200.0, 2400.0)))
    left = (tone * envelope * (1.0 - pan)) * 1.4 + tick
    right = (tone * envelope * pan) * 1.4 + tick
    return np.clip(np.stack([left, right]), -1.0, 1.0).astype(np.float32)


def _ticks(samples: int, frequency: float) -> npt.NDArray[np.float64]:
    """A 30 ms decaying blip at every whole second (0 s, 1 s, ...)."""
    length = SAMPLE_RATE * 3 // 100
    t = np.arange(length) / SAMPLE_RATE
    blip = 0.35 * np.sin(2.0 * np.pi * frequency * t) * np.exp(-t * 150.0)
    track = np.zeros(samples)
    for start in range(0, samples, SAMPLE_RATE):
        stop = min(samples, start + length)
        track[start:stop] += blip[: stop - start]
    return track
