"""The ``testcard`` engine: a deterministic, CPU-only stand-in for a video model.

It exists so the whole service (API, queue, worker, media, storage) can run and be tested
without a GPU or model weights, and it says so everywhere: a WARNING when loaded,
``is_test_engine`` in ``describe()`` and in the MP4's tags, and a "TESTCARD" label on the
picture. Output depends only on (prompt, seed): same inputs, byte-identical frames and audio.

Picture: without a first frame, colour bars whose palette and scroll derive from the seed;
with one, frame 0 is that image untouched, then it pans slowly while the overlays fade in.
Overlays: the label, the wrapped prompt, timecode HH:MM:SS:FF, a frame counter, a progress
bar and a dot that flashes on every whole second, in step with the audio's tick.
Sound: 48 kHz stereo, a soft tone gliding around a seed-chosen note, a tick each second.

Speed: the background, the static overlays and the glyphs of the timecode box are rendered
once with numpy and Pillow; per frame we copy a window of the background, blend the overlays
over their small regions and assemble the timecode box from the pre-rendered glyphs.
"""

from __future__ import annotations

import colorsys
import hashlib
import logging
import re
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, Final

import numpy as np
import numpy.typing as npt
from PIL import Image, ImageDraw, ImageFont

from reelforge.domain.errors import EngineError
from reelforge.domain.limits import FPS
from reelforge.domain.specs import GenerationSpec
from reelforge.engines.base import EngineRequest, Frame, JobControl, VideoClip
from reelforge.engines.testcard_sound import SAMPLE_RATE, synthesize_audio

if TYPE_CHECKING:
    from reelforge.core.config import Settings

logger = logging.getLogger(__name__)

LABEL: Final = "TESTCARD — not a generated video"
MODEL: Final = "testcard-1"
FADE_FRAMES: Final = 12
"""With a first frame, the overlays reach full strength after half a second."""

_PANEL_ALPHA: Final = 176
_BAR_COLOURS: Final = (  # SMPTE 75% bars
    (191, 191, 191), (191, 191, 0), (0, 191, 191), (0, 191, 0),
    (191, 0, 191), (191, 0, 0), (0, 0, 191),
)  # fmt: skip

Font = ImageFont.FreeTypeFont | ImageFont.ImageFont


def create_engine(settings: Settings) -> TestcardEngine:
    """Registered as ``testcard``; it has no options."""
    return TestcardEngine()


class TestcardEngine:
    """Deterministic test cards with a soundtrack; see the module docstring."""

    __test__ = False  # not a pytest test class, despite the name
    name = "testcard"

    def load(self) -> None:
        logger.warning(
            "engine 'testcard' loaded: every video will be a synthetic test card, "
            "not a generated video; set REELFORGE_ENGINE to a real engine for production"
        )

    def describe(self) -> dict[str, str]:
        return {"engine": self.name, "model": MODEL, "device": "cpu", "is_test_engine": "true"}

    def generate(self, request: EngineRequest, control: JobControl) -> VideoClip:
        # 1. check inputs
        spec = request.spec
        if request.first_frame is not None:
            _check_first_frame(request.first_frame, spec)
        # 2. everything random comes from (prompt, seed), drawn in a fixed order
        rng = np.random.default_rng(derive_seed(spec.prompt, spec.seed))
        # 3. pre-render what does not change; frames are made lazily as they are consumed
        card = _Card.build(spec, request.first_frame, rng)
        audio = synthesize_audio(spec.seconds, rng)
        return VideoClip(
            frames=card.frames(control),
            frame_count=spec.frame_count,
            fps=FPS,
            audio=audio,
            sample_rate=SAMPLE_RATE,
            metadata=self._metadata(spec),
        )

    def _metadata(self, spec: GenerationSpec) -> dict[str, str]:
        return {
            "engine": self.name,
            "model": MODEL,
            "requested_model": spec.model,
            "is_test_engine": "true",
            "comment": f"{LABEL} (reelforge testcard engine, seed {spec.seed})",
        }


def derive_seed(prompt: str, seed: int) -> int:
    """One 64-bit seed from both inputs, stable across processes and platforms."""
    digest = hashlib.sha256(f"{seed}\x00{prompt}".encode()).digest()
    return int.from_bytes(digest[:8], "big")


def _check_first_frame(image: Frame, spec: GenerationSpec) -> None:
    expected = (spec.height, spec.width, 3)
    if image.shape != expected or image.dtype != np.uint8:
        raise EngineError(
            f"first frame is {image.shape} {image.dtype}; expected RGB uint8 {expected} "
            f"for size {spec.size} (decode it with reelforge.media.decode_first_frame)"
        )


# --- picture --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Overlay:
    """A pre-rendered RGBA patch, kept premultiplied so a full-strength blend is three uint16
    operations: out = (bg * (255 - a) + rgb * a) >> 8 (never above 255 * 255, so no overflow)."""

    top: int
    left: int
    rgba: npt.NDArray[np.uint8]
    premultiplied: npt.NDArray[np.uint16]
    inverse_alpha: npt.NDArray[np.uint16]

    @classmethod
    def from_image(cls, image: Image.Image, top: int, left: int) -> _Overlay:
        rgba = np.asarray(image.convert("RGBA"), dtype=np.uint8)
        premultiplied, inverse_alpha = _premultiply(rgba, 1.0)
        return cls(top, left, rgba, premultiplied, inverse_alpha)

    def blend_into(self, frame: Frame, fade: float) -> None:
        height, width = self.rgba.shape[:2]
        region = frame[self.top : self.top + height, self.left : self.left + width]
        if fade >= 1.0:
            premultiplied, inverse_alpha = self.premultiplied, self.inverse_alpha
        else:
            premultiplied, inverse_alpha = _premultiply(self.rgba, fade)
        work = region.astype(np.uint16)
        np.multiply(work, inverse_alpha, out=work)
        np.add(work, premultiplied, out=work)
        np.add(work, 255, out=work)  # rounds so that 255 over 255 stays 255
        np.right_shift(work, 8, out=work)
        region[...] = work


def _premultiply(
    rgba: npt.NDArray[np.uint8], fade: float
) -> tuple[npt.NDArray[np.uint16], npt.NDArray[np.uint16]]:
    # alpha repeated per channel: numpy is ~5x faster without broadcasting a trailing axis
    alpha = np.repeat(rgba[:, :, 3:4], 3, axis=2).astype(np.uint16)
    if fade < 1.0:
        alpha = (alpha * fade).astype(np.uint16)
    return rgba[:, :, :3] * alpha, 255 - alpha


@dataclass(slots=True)
class _Card:
    spec: GenerationSpec
    canvas: Frame
    path: list[tuple[int, int]]  # (top, left) of the visible window in frame i
    overlays: list[_Overlay]
    clock: _ClockBox
    has_image: bool

    @classmethod
    def build(cls, spec: GenerationSpec, image: Frame | None, rng: np.random.Generator) -> _Card:
        width, height, count = spec.width, spec.height, spec.frame_count
        if image is None:
            canvas = np.concatenate([_colour_bars(width, height, rng)] * 2, axis=1)
            speed = float(rng.uniform(1.5, 5.0)) * float(rng.choice([-1.0, 1.0]))
            path = [(0, int(i * speed) % width) for i in range(count)]
        else:
            pad = min(width, height) // 8
            canvas = np.pad(image, ((pad, pad), (pad, pad), (0, 0)), mode="reflect")
            angle = float(rng.uniform(0.0, 2.0 * np.pi))
            dy, dx = pad * np.sin(angle), pad * np.cos(angle)
            path = [
                (pad + round(dy * i / count), pad + round(dx * i / count)) for i in range(count)
            ]
        unit = min(width, height) / 720
        overlays = [_label_overlay(spec, unit), _prompt_overlay(spec, unit)]
        return cls(spec, canvas, path, overlays, _ClockBox(spec, unit), image is not None)

    def frames(self, control: JobControl) -> Iterator[Frame]:
        total = self.spec.frame_count
        for index in range(total):
            frame = self.render(index)
            control.step(index + 1, total, "render")
            yield frame

    def render(self, index: int) -> Frame:
        top, left = self.path[index]
        frame = self.canvas[top : top + self.spec.height, left : left + self.spec.width].copy()
        if self.has_image and index == 0:
            return frame  # the client's image, pixel for pixel
        fade = min(1.0, index / FADE_FRAMES) if self.has_image else 1.0
        for overlay in self.overlays:
            overlay.blend_into(frame, fade)
        self.clock.paste_into(frame, index, fade)
        return frame


def _colour_bars(width: int, height: int, rng: np.random.Generator) -> Frame:
    """A classic bars-and-ramp card, hue-rotated by the seed, with a centre circle."""
    hue_shift = float(rng.uniform(0.0, 1.0))
    colours = np.array([_rotate_hue(c, hue_shift) for c in _BAR_COLOURS], dtype=np.uint8)
    columns = np.arange(width) * len(colours) // width
    card = np.empty((height, width, 3), dtype=np.uint8)
    bars_end, castle_end = int(height * 0.62), int(height * 0.70)
    card[:bars_end] = colours[columns]
    card[bars_end:castle_end] = colours[::-1][columns]
    ramp = np.linspace(0, 255, width // 2, dtype=np.uint8)
    card[castle_end:, : width // 2] = ramp[np.newaxis, :, np.newaxis]
    cell = int(rng.integers(12, 40))
    rows, cols = np.indices((height - castle_end, width - width // 2))
    checker = (((rows // cell) + (cols // cell)) % 2 * 235 + 10).astype(np.uint8)
    card[castle_end:, width // 2 :] = checker[:, :, np.newaxis]
    card[:, :: width // 16] = 235  # grid lines help spot scaling and cropping
    card[:: height // 9, :] = 235
    image = Image.fromarray(card, "RGB")
    radius = int(min(width, height) * 0.42)
    centre = (width // 2, height // 2)
    box = (centre[0] - radius, centre[1] - radius, centre[0] + radius, centre[1] + radius)
    ImageDraw.Draw(image).ellipse(box, outline=(235, 235, 235), width=max(2, radius // 60))
    return np.asarray(image, dtype=np.uint8)


def _rotate_hue(rgb: tuple[int, int, int], shift: float) -> tuple[int, int, int]:
    hue, lightness, saturation = colorsys.rgb_to_hls(*(c / 255 for c in rgb))
    red, green, blue = colorsys.hls_to_rgb((hue + shift) % 1.0, lightness, saturation)
    return round(red * 255), round(green * 255), round(blue * 255)


@lru_cache(maxsize=16)
def _font(size: int, mono: bool = False) -> Font:
    """DejaVu (wide Unicode coverage, a monospaced timecode) where the system has it, else
    Pillow's bundled Aileron (ASCII only), else a bitmap font where FreeType is missing."""
    try:
        return ImageFont.truetype("DejaVuSansMono.ttf" if mono else "DejaVuSans.ttf", size)
    except OSError:
        return ImageFont.load_default(size=size)


def _panel(width: int, height: int) -> tuple[Image.Image, ImageDraw.ImageDraw]:
    image = Image.new("RGBA", (width, height), (12, 12, 16, _PANEL_ALPHA))
    return image, ImageDraw.Draw(image)


def _label_overlay(spec: GenerationSpec, unit: float) -> _Overlay:
    height = round(96 * unit)
    image, draw = _panel(spec.width, height)
    margin = round(24 * unit)
    size = round(40 * unit)
    while size > 12 and _font(size).getlength(LABEL) > spec.width - 2 * margin:
        size -= 2  # portrait frames are narrower than the label at full size
    _draw_label(draw, (margin, round(12 * unit)), _font(size), "#ffd23f")
    details = f"seed {spec.seed}   {spec.size}   {FPS} fps   {spec.seconds} s   engine testcard"
    draw.text((margin, round(60 * unit)), details, font=_font(round(22 * unit)), fill="white")
    return _Overlay.from_image(image, 0, 0)


def _draw_label(draw: ImageDraw.ImageDraw, xy: tuple[int, int], font: Font, fill: str) -> None:
    """Draw ``LABEL`` with its dash as a line: Pillow's fallback font has no em dash glyph."""
    head, _, tail = LABEL.partition("—")
    left, top = xy
    draw.text((left, top), head, font=font, fill=fill)
    left += round(font.getlength(head))
    dash = round(font.getlength("M"))
    _, x_top, _, x_bottom = font.getbbox("x")
    middle, thickness = top + (x_top + x_bottom) // 2, max(2, dash // 10)
    draw.rectangle((left, middle - thickness // 2, left + dash, middle + thickness // 2), fill=fill)
    draw.text((left + dash, top), tail, font=font, fill=fill)


def _prompt_overlay(spec: GenerationSpec, unit: float) -> _Overlay:
    font = _font(round(28 * unit))
    margin, line_height = round(24 * unit), round(36 * unit)
    max_lines = 3 if spec.width >= spec.height else 6
    lines = wrap_text(spec.prompt, font, spec.width - 2 * margin, max_lines)
    height = line_height * len(lines) + 2 * margin
    image, draw = _panel(spec.width, height)
    for number, line in enumerate(lines):
        draw.text((margin, margin + number * line_height), line, font=font, fill="white")
    return _Overlay.from_image(image, spec.height - height, 0)


def wrap_text(text: str, font: Font, max_width: int, max_lines: int) -> list[str]:
    """Greedy word wrap to ``max_width`` px; the last line ends in an ellipsis if cut."""
    words = re.sub(r"\s+", " ", "".join(c if c.isprintable() else " " for c in text)).split()
    lines: list[str] = []
    current = ""
    for word in words:
        candidate = f"{current} {word}".strip()
        if font.getlength(candidate) <= max_width or not current:
            current = candidate
            continue
        lines.append(current)
        current = word
        if len(lines) == max_lines:
            break
    if current and len(lines) < max_lines:
        lines.append(current)
    lines = [_fit_line(line, font, max_width) for line in lines]
    if len(lines) == max_lines and " ".join(lines) != " ".join(words):
        lines[-1] = _fit_line(lines[-1] + "…", font, max_width, ellipsis=True)
    return lines


def _fit_line(line: str, font: Font, max_width: int, ellipsis: bool = False) -> str:
    """Cut a line that is too wide (one very long word) character by character."""
    if font.getlength(line) <= max_width:
        return line
    body = line.rstrip("…") if ellipsis else line
    while body and font.getlength(body + "…") > max_width:
        body = body[:-1]
    return body + "…"


_BOX_BG: Final = (12, 12, 16)


class _GlyphStrip:
    """Pre-rendered monospaced glyphs: a string of them is a numpy concatenation, no Pillow."""

    def __init__(self, font: Font, chars: str, colour: str) -> None:
        height = int(font.getbbox(chars)[3]) + 2
        self._advance = max(1, int(max(font.getlength(c) for c in chars) + 0.5))
        self._tiles: dict[str, Frame] = {}
        for char in chars:
            tile = Image.new("RGB", (self._advance, height), _BOX_BG)
            ImageDraw.Draw(tile).text((0, 0), char, font=font, fill=colour)
            self._tiles[char] = np.asarray(tile, dtype=np.uint8)

    def paste(self, target: Frame, text: str, top: int, left: int) -> None:
        strip = np.concatenate([self._tiles[c] for c in text], axis=1)
        target[top : top + strip.shape[0], left : left + strip.shape[1]] = strip


class _ClockBox:
    """The only part that changes per frame: timecode, frame counter, progress bar and a dot
    that flashes on each second. It is opaque, so at full strength it is pasted, not blended,
    and it is assembled from pre-rendered pieces."""

    def __init__(self, spec: GenerationSpec, unit: float) -> None:
        self._total = spec.frame_count
        self._unit = unit
        width, height = round(460 * unit), round(128 * unit)
        self._top, self._left = (spec.height - height) // 2, (spec.width - width) // 2
        self._timecode = _GlyphStrip(_font(round(52 * unit), mono=True), "0123456789:", "white")
        self._counter = _GlyphStrip(_font(round(22 * unit), mono=True), "0123456789/ ", "#cfd8dc")
        self._background, self._counter_left = self._static_background(width, height)
        self._bar = (height - round(18 * unit), round(20 * unit), width - round(40 * unit))
        self._dot = self._dot_tile(round(28 * unit))

    def _static_background(self, width: int, height: int) -> tuple[Frame, int]:
        unit = self._unit
        image = Image.new("RGB", (width, height), _BOX_BG)
        draw = ImageDraw.Draw(image)
        draw.rectangle((0, 0, width - 1, height - 1), outline="#546e7a", width=2)
        small = _font(round(22 * unit))
        draw.text((round(20 * unit), round(72 * unit)), "frame", font=small, fill="#cfd8dc")
        top, left = height - round(18 * unit), round(20 * unit)
        draw.rectangle((left, top, width - left, top + round(6 * unit)), fill="#37474f")
        counter_left = left + round(small.getlength("frame ") + 4 * unit)
        return np.asarray(image, dtype=np.uint8), counter_left

    @staticmethod
    def _dot_tile(size: int) -> Frame:
        image = Image.new("RGB", (size, size), _BOX_BG)
        ImageDraw.Draw(image).ellipse((0, 0, size - 1, size - 1), fill="#ff5252")
        return np.asarray(image, dtype=np.uint8)

    def draw(self, index: int) -> Frame:
        unit = self._unit
        box = self._background.copy()
        self._timecode.paste(box, timecode(index), round(8 * unit), round(20 * unit))
        counter = f"{index + 1:04d} / {self._total:04d}"
        self._counter.paste(box, counter, round(72 * unit), self._counter_left)
        bar_top, bar_left, bar_width = self._bar
        done = round(bar_width * (index + 1) / self._total)
        box[bar_top : bar_top + round(6 * unit), bar_left : bar_left + done] = (79, 195, 247)
        if index % FPS < 3:  # on every whole second, in step with the audio's tick
            size = self._dot.shape[0]
            top, left = round(26 * unit), box.shape[1] - size - round(26 * unit)
            box[top : top + size, left : left + size] = self._dot
        return box

    def paste_into(self, frame: Frame, index: int, fade: float) -> None:
        box = self.draw(index)
        height, width = box.shape[:2]
        region = frame[self._top : self._top + height, self._left : self._left + width]
        if fade >= 1.0:
            region[...] = box
        else:
            region[...] = (region * (1.0 - fade) + box * fade).astype(np.uint8)


def timecode(index: int) -> str:
    """SMPTE-style HH:MM:SS:FF of frame ``index`` at 24 fps."""
    seconds, frames = divmod(index, FPS)
    minutes, seconds = divmod(seconds, 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours:02d}:{minutes:02d}:{seconds:02d}:{frames:02d}"
