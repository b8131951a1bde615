"""The face-policy evaluation set: real photographs that packages ship, and hard variants of them.

Everything is generated at run time from pictures that installed packages carry (nothing large is
committed). Face sources, each with its face box measured once in the source picture:

- ``astronaut``: scikit-image's astronaut.png (Eileen Collins, NASA, public domain), frontal.
- ``camera``: scikit-image's camera.png (a cameraman, grayscale), three-quarter side view.
- ``grace_hopper``: matplotlib's grace_hopper.jpg (US Navy photo, public domain), frontal;
  used only when matplotlib is installed (it is in the dev extra).

Hard variants of every source: faces ~6% and ~9% of the frame width on textured backgrounds,
rotated 20, 25 and 30 degrees both ways, dark and noisy, grayscale, mirrored, cut by the frame's
left and top edges, and small + rotated together. Hard negatives: animal faces (two cats, also
small and rotated), round objects (coins, a clock, the moon, a retina, a coffee cup), a head
phantom, textures, a cartoon logo, text, people whose face is covered (the face box painted
over, standing in for people seen from behind or masked), a lens-like pattern, and synthetic
patterns. ``scikit-image`` is needed; ``matplotlib`` adds its pictures when installed.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from tests.policy.images import HEIGHT, WIDTH, Frame, LabelledImage, _background, paste, sample


@dataclass(frozen=True)
class FaceSource:
    """A face photograph and the box (x0, y0, x1, y1) of its face, in source pixels."""

    name: str
    load: Callable[[], Frame]
    box: tuple[int, int, int, int]

    @property
    def face_centre(self) -> tuple[float, float]:
        x0, y0, x1, y1 = self.box
        return (x0 + x1) / 2, (y0 + y1) / 2

    @property
    def face_width(self) -> int:
        return self.box[2] - self.box[0]


def _matplotlib_sample(file_name: str) -> Path | None:
    spec = importlib.util.find_spec("matplotlib")
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(spec.submodule_search_locations[0]) / "mpl-data" / "sample_data" / file_name
    return path if path.is_file() else None


def _read_rgb(path: Path) -> Frame:
    bgr = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if bgr is None:
        raise FileNotFoundError(path)
    return np.ascontiguousarray(bgr[..., ::-1])


def face_sources() -> list[FaceSource]:
    sources = [
        FaceSource("astronaut", lambda: sample("astronaut"), (179, 58, 271, 177)),
        FaceSource("camera", lambda: sample("camera"), (202, 114, 261, 195)),
    ]
    grace = _matplotlib_sample("grace_hopper.jpg")
    if grace is not None:
        sources.append(FaceSource("grace_hopper", lambda: _read_rgb(grace), (181, 122, 352, 333)))
    return sources


def _scaled(image: Frame, factor: float) -> Frame:
    interpolation = cv2.INTER_AREA if factor < 1 else cv2.INTER_CUBIC
    resized = cv2.resize(image, None, fx=factor, fy=factor, interpolation=interpolation)
    return np.asarray(resized, np.uint8)


def _rotated(image: Frame, centre: tuple[float, float], degrees: float) -> Frame:
    """``image`` turned ``degrees`` (counter-clockwise) about ``centre``, edges mirrored."""
    matrix = cv2.getRotationMatrix2D(centre, degrees, 1.0)
    height, width = image.shape[:2]
    turned = cv2.warpAffine(image, matrix, (width, height), borderMode=cv2.BORDER_REFLECT_101)
    return np.asarray(turned, np.uint8)


def place(image: Frame, background: str, left: int, top: int) -> Frame:
    """``image`` on a 1280x720 canvas at (left, top); parts outside the frame are cut off."""
    canvas = _background(background).copy()
    height, width = image.shape[:2]
    x0, y0 = max(left, 0), max(top, 0)
    x1, y1 = min(left + width, WIDTH), min(top + height, HEIGHT)
    canvas[y0:y1, x0:x1] = image[y0 - top : y1 - top, x0 - left : x1 - left]
    return canvas


def _face_at(
    source: FaceSource,
    image: Frame,
    face_width: float,
    background: str,
    centre: tuple[float, float],
) -> Frame:
    """``image`` (``source``'s picture, maybe edited) scaled so its face is ``face_width`` px
    wide, placed so the face centre lands on ``centre`` of the frame."""
    factor = face_width / source.face_width
    scaled = _scaled(image, factor)
    face_x, face_y = source.face_centre
    left = round(centre[0] - face_x * factor)
    top = round(centre[1] - face_y * factor)
    return place(scaled, background, left, top)


def _dark_noisy(image: Frame, seed: int) -> Frame:
    rng = np.random.default_rng(seed)
    dark = 255.0 * (image / 255.0) ** 1.8 * 0.45
    noisy = dark + rng.normal(0, 10, image.shape)
    return np.clip(noisy, 0, 255).astype(np.uint8)


def _grayscale(image: Frame) -> Frame:
    gray = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY)
    return np.ascontiguousarray(np.stack([gray] * 3, axis=-1))


def _face_variants(source: FaceSource) -> Iterator[tuple[str, Callable[[], Frame]]]:
    """(variant name, frame maker) for one face source."""
    mid = (WIDTH / 2, HEIGHT / 2)

    def at(
        width_fraction: float,
        background: str = "grey",
        centre: tuple[float, float] = mid,
        edit: Callable[[Frame], Frame] = lambda image: image,
    ) -> Callable[[], Frame]:
        return lambda: _face_at(
            source, edit(source.load()), width_fraction * WIDTH, background, centre
        )

    def turned(degrees: float) -> Callable[[Frame], Frame]:
        return lambda image: _rotated(image, source.face_centre, degrees)

    yield "plain", at(0.15, "grey")
    yield "small_6pct", at(0.06, "coffee", (300, 250))
    yield "small_9pct", at(0.09, "grass", (900, 420))
    yield "small_6pct_brick", at(0.06, "brick", (1000, 200))
    for degrees in (20, 25, 30, -20, -25, -30):
        yield f"rotated_{degrees:+d}", at(0.14, "gravel", mid, turned(degrees))
    yield "small_9pct_rotated_+25", at(0.09, "grass", (400, 300), turned(25))
    yield "small_9pct_rotated_-25", at(0.09, "coffee", (800, 400), turned(-25))
    yield "dark_noisy", at(0.14, "grey", mid, lambda image: _dark_noisy(image, 1))
    yield "small_9pct_dark_noisy", at(0.09, "brick", (500, 300), lambda i: _dark_noisy(i, 2))
    yield "grayscale", at(0.12, "grass", mid, _grayscale)
    yield "mirrored", at(0.12, "brick", mid, lambda image: np.ascontiguousarray(image[:, ::-1]))
    # A third of the face outside the frame: the left and top edges cut through it.
    yield "cut_left_edge", at(0.14, "gravel", (0.14 * WIDTH / 6, HEIGHT / 2))
    yield "cut_top_edge", at(0.14, "grass", (WIDTH / 2, 0.14 * WIDTH * 1.3 / 6))


def face_images() -> list[LabelledImage]:
    """Every face source in every hard variant (all must be refused)."""
    return [
        LabelledImage(f"{source.name}_{variant}", make(), True)
        for source in face_sources()
        for variant, make in _face_variants(source)
    ]


_NON_FACE_SAMPLES = (
    "chelsea", "cat", "coffee", "rocket", "horse", "coins", "brick", "grass", "gravel", "page",
    "text", "moon", "hubble_deep_field", "retina", "immunohistochemistry", "logo", "clock",
    "colorwheel", "cell", "microaneurysms", "checkerboard", "shepp_logan_phantom",
)  # fmt: skip


def _covered_face(source: FaceSource) -> Frame:
    """``source`` with its face (and some margin) painted over: a person, no face visible."""
    image = source.load().copy()
    x0, y0, x1, y1 = source.box
    margin_x, margin_y = (x1 - x0) // 3, (y1 - y0) // 3
    top, bottom = max(y0 - margin_y, 0), y1 + margin_y
    image[top:bottom, max(x0 - margin_x, 0) : x1 + margin_x] = (96, 96, 104)
    return image


def _lens(diameter: int) -> Frame:
    """A camera-lens-like target: dark rings, a bright glint, on a grey body."""
    canvas = np.full((HEIGHT, WIDTH, 3), 150, np.uint8)
    centre = (WIDTH // 2, HEIGHT // 2)
    for index, shade in enumerate((30, 70, 20, 55, 10)):
        radius = diameter // 2 - index * diameter // 12
        cv2.circle(canvas, centre, radius, (shade, shade, shade + 10), -1, cv2.LINE_AA)
    glint = (centre[0] - diameter // 8, centre[1] - diameter // 8)
    cv2.circle(canvas, glint, diameter // 20, (230, 230, 240), -1, cv2.LINE_AA)
    return canvas


def _animal_variants() -> Iterator[tuple[str, Callable[[], Frame]]]:
    for name, box in (("chelsea", (140, 20, 330, 200)), ("cat", (110, 10, 330, 220))):
        source = FaceSource(name, lambda name=name: sample(name), box)  # type: ignore[misc]
        for variant, make in _face_variants(source):
            if variant in {"plain", "small_9pct", "rotated_+25", "rotated_-25", "grayscale"}:
                yield f"{name}_{variant}", make


def non_face_images() -> list[LabelledImage]:
    """Hard negatives (none may be refused beyond the 5% budget)."""
    makers: dict[str, Callable[[], Frame]] = {
        name: lambda name=name: paste(sample(name))  # type: ignore[misc]
        for name in _NON_FACE_SAMPLES
    }
    makers.update(_animal_variants())
    for source in face_sources():
        makers[f"{source.name}_face_covered"] = lambda s=source: paste(_covered_face(s))  # type: ignore[misc]
    makers["lens_large"] = lambda: _lens(500)
    makers["lens_small"] = lambda: _lens(160)
    for file_name in ("Minduka_Present_Blue_Pack.png", "logo2.png"):
        path = _matplotlib_sample(file_name)
        if path is not None:
            makers[f"matplotlib_{path.stem}"] = lambda p=path: paste(_read_rgb(p))  # type: ignore[misc]
    return [LabelledImage(name, make(), False) for name, make in makers.items()]
