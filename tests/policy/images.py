"""Labelled first-frame images for the face policy, built from scikit-image's sample data.

Faces: ``astronaut.png`` (Eileen Collins, a real face photo) and ``camera.png`` (a cameraman in
three-quarter profile), as crops, rescales, mirrors and darkened copies pasted on 1280x720
backgrounds. Non-faces: every other bundled photo (cats, coffee, a rocket, textures, a moon, a
microscope slide...) plus synthetic patterns. ``hard_faces`` gives harder faces that are reported
as a rate, not required to be all caught.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np
import numpy.typing as npt
import skimage.data

Frame = npt.NDArray[np.uint8]
WIDTH, HEIGHT = 1280, 720


@dataclass(frozen=True)
class LabelledImage:
    name: str
    frame: Frame
    has_face: bool


def sample(name: str) -> Frame:
    """A scikit-image sample picture as HxWx3 uint8 RGB."""
    loader: Any = getattr(skimage.data, name)
    return _rgb(np.asarray(loader()))


def sample_array(name: str) -> npt.NDArray[np.float64]:
    loader: Any = getattr(skimage.data, name)
    return np.asarray(loader(), np.float64)


def _rgb(image: npt.NDArray[np.generic]) -> Frame:
    if image.dtype != np.uint8:
        image = (np.clip(image, 0, 1) * 255).astype(np.uint8)
    if image.ndim == 2:
        image = np.stack([image] * 3, axis=-1)
    return np.ascontiguousarray(image[..., :3])


def _resize(image: Frame, height: int) -> Frame:
    width = round(image.shape[1] * height / image.shape[0])
    interpolation = cv2.INTER_AREA if height < image.shape[0] else cv2.INTER_CUBIC
    return np.asarray(cv2.resize(image, (width, height), interpolation=interpolation), np.uint8)


def _background(kind: str) -> Frame:
    if kind == "grey":
        return np.full((HEIGHT, WIDTH, 3), 110, np.uint8)
    resized = cv2.resize(sample(kind), (WIDTH, HEIGHT), interpolation=cv2.INTER_CUBIC)
    return np.asarray(resized, np.uint8)


def paste(
    image: Frame, background: str = "grey", x: int | None = None, y: int | None = None
) -> Frame:
    """``image`` on a 1280x720 canvas (scaled down to fit, never stretched)."""
    if image.shape[0] > HEIGHT or image.shape[1] > WIDTH:
        image = _resize(image, min(HEIGHT, image.shape[0] * WIDTH // image.shape[1]))
    canvas = _background(background).copy()
    h, w = image.shape[:2]
    top = (HEIGHT - h) // 2 if y is None else y
    left = (WIDTH - w) // 2 if x is None else x
    canvas[top : top + h, left : left + w] = image
    return canvas


def _face_images() -> list[LabelledImage]:
    astronaut = sample("astronaut")
    camera = sample("camera")
    head = astronaut[0:260, 90:350]
    variants: dict[str, Callable[[], Frame]] = {
        "astronaut_original_512": lambda: astronaut,
        "astronaut_centred": lambda: paste(astronaut),
        "astronaut_mirrored_on_grass": lambda: paste(astronaut[:, ::-1], "grass"),
        "astronaut_full_height": lambda: paste(_resize(astronaut, 720), "brick"),
        "astronaut_head_crop_upscaled": lambda: paste(_resize(head, 600), "gravel"),
        "astronaut_small_corner": lambda: paste(_resize(astronaut, 300), "coffee", 40, 380),
        "astronaut_dark": lambda: paste((astronaut * 0.55).astype(np.uint8), "grey", 740, 100),
        "astronaut_on_rocket": lambda: paste(_resize(astronaut, 400), "rocket", 760, 60),
        "camera_mirrored": lambda: paste(camera[:, ::-1], "grass"),
        "camera_full_height": lambda: paste(_resize(camera, 720)),
    }
    return [LabelledImage(name, make(), True) for name, make in variants.items()]


_NON_FACE_SAMPLES = (
    "chelsea", "cat", "coffee", "rocket", "horse", "coins", "brick", "grass", "gravel", "page",
    "text", "moon", "hubble_deep_field", "retina", "immunohistochemistry", "logo", "clock",
    "colorwheel", "cell", "microaneurysms", "checkerboard",
)  # fmt: skip


def _synthetic_images() -> list[LabelledImage]:
    rng = np.random.default_rng(7)
    y, x = np.mgrid[0:HEIGHT, 0:WIDTH]
    gradient = np.stack(
        [x * 255 // WIDTH, y * 255 // HEIGHT, (x + y) * 255 // (WIDTH + HEIGHT)], -1
    )
    stripes = ((np.sin(x / 9.0) + np.sin(y / 23.0)) * 60 + 128).astype(np.uint8)
    patterns = {
        "noise": rng.integers(0, 256, (HEIGHT, WIDTH, 3), dtype=np.uint8),
        "gradient": gradient.astype(np.uint8),
        "stripes": _rgb(stripes),
        "circles": _rgb((((x - 640) ** 2 + (y - 360) ** 2) // 900 % 2 * 255).astype(np.uint8)),
        "flat_blue": np.full((HEIGHT, WIDTH, 3), (40, 90, 200), np.uint8),
    }
    return [LabelledImage(f"synthetic_{name}", frame, False) for name, frame in patterns.items()]


def labelled_images() -> list[LabelledImage]:
    """Face and non-face images; non-face photos are pasted onto 1280x720 canvases."""
    non_faces = [LabelledImage(name, paste(sample(name)), False) for name in _NON_FACE_SAMPLES]
    return _face_images() + non_faces + _synthetic_images()


def hard_faces() -> list[LabelledImage]:
    """Faces the detector is known to miss sometimes; reported as a rate, not all required.

    The LFW subset's 100 face crops (25x25, cut tight at brow and chin, upscaled to 240x240) and
    camera.png pasted at its native 512 px, where the three-quarter face is ~35 px after the
    detector's downscale.
    """
    crops = sample_array("lfw_subset")[:100]
    faces = [
        LabelledImage(f"lfw_face_{index}", paste(_resize(_rgb(crop), 240)), True)
        for index, crop in enumerate(crops)
    ]
    camera = LabelledImage("camera_native_size", paste(sample("camera")), True)
    return [camera, *faces]
