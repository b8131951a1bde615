"""The Haar-cascade face detector: the fallback when the CNN detector's model is not installed.

Cascades, cheapest and most specific first, stopping at the first hit: frontal ``alt2`` and
``alt`` on the image, then ``profileface`` on the image and on its mirror (the cascade only knows
one side). ``frontalface_default`` is not used: it fires on many non-face textures. The image is
downscaled (never stretched: a wrong aspect makes cascades miss).

Measured on the evaluation set in tests/policy/face_eval.py it misses faces rotated 20-30 degrees,
dark and noisy faces and faces cut by the frame edge, and fires on cat faces; see
bench/bench_faces.py. opencv-python-headless must be 4.x: 5.0 ships no cascades.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import numpy.typing as npt

_FRONTAL = ("haarcascade_frontalface_alt2.xml", "haarcascade_frontalface_alt.xml")
_PROFILE = "haarcascade_profileface.xml"


@dataclass(frozen=True)
class HaarSettings:
    """Tuned on 1280x720 frames: faces down to ~50 px tall in the original are found."""

    # Any smaller side lost faces or added false hits on the old labelled set (600 -> 2 cats
    # refused, 512 -> 9/10 faces, 480 -> 6/10); 640 was 10/10 with no false hit.
    max_side: int = 640
    scale_factor: float = 1.1
    # A finer profile step (1.05) finds smaller side views but also fires on cat faces.
    profile_scale_factor: float = 1.1
    min_neighbors: int = 5
    min_face: int = 20


class HaarFaceDetector:
    """Thread-safe: each thread gets its own cascades (OpenCV does not promise more)."""

    name = "haar"

    def __init__(self, settings: HaarSettings | None = None, cascade_dir: Path | None = None):
        self._settings = settings or HaarSettings()
        self._cascade_dir = cascade_dir or Path(cv2.data.haarcascades)  # type: ignore[attr-defined]
        self._local = threading.local()
        self._cascades()  # load now so that missing files fail at start-up, not per request

    def detect(self, frame: npt.NDArray[np.uint8]) -> str | None:
        """The name of the first cascade that finds a face in the RGB ``frame``, or None."""
        gray = self._prepare(frame)
        frontal, profile = self._cascades()
        for name, cascade in frontal:
            if self._finds(cascade, gray, self._settings.scale_factor):
                return name
        profile_scale = self._settings.profile_scale_factor
        if self._finds(profile, gray, profile_scale):
            return "profileface"
        if self._finds(profile, np.ascontiguousarray(gray[:, ::-1]), profile_scale):
            return "profileface_mirrored"
        return None

    def _prepare(self, frame: npt.NDArray[np.uint8]) -> npt.NDArray[np.uint8]:
        gray = cv2.cvtColor(frame, cv2.COLOR_RGB2GRAY)
        scale = self._settings.max_side / max(gray.shape)
        if scale < 1:
            gray = cv2.resize(gray, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
        # Evens out exposure: cascades were trained on normalised faces.
        equalised: npt.NDArray[np.uint8] = cv2.equalizeHist(gray).astype(np.uint8, copy=False)
        return equalised

    def _finds(
        self, cascade: cv2.CascadeClassifier, gray: npt.NDArray[np.uint8], scale_factor: float
    ) -> bool:
        s = self._settings
        found = cascade.detectMultiScale(
            gray,
            scaleFactor=scale_factor,
            minNeighbors=s.min_neighbors,
            minSize=(s.min_face, s.min_face),
        )
        return len(found) > 0

    def _cascades(
        self,
    ) -> tuple[list[tuple[str, cv2.CascadeClassifier]], cv2.CascadeClassifier]:
        cached = getattr(self._local, "cascades", None)
        if cached is None:
            frontal = [
                (name.removeprefix("haarcascade_").removesuffix(".xml"), self._load(name))
                for name in _FRONTAL
            ]
            cached = (frontal, self._load(_PROFILE))
            self._local.cascades = cached
        return cached

    def _load(self, file_name: str) -> cv2.CascadeClassifier:
        path = self._cascade_dir / file_name
        cascade = cv2.CascadeClassifier(str(path))
        if cascade.empty():
            raise RuntimeError(
                f"cannot load face cascade {path}; install opencv-python-headless>=4.8,<5 "
                "(OpenCV 5 ships no Haar cascades)"
            )
        return cascade
