"""FacePolicy: refuse first-frame images that contain a human face (OpenCV Haar cascades).

Detectors, cheapest and most specific first, stopping at the first hit: frontal ``alt2`` and
``alt`` on the image, then ``profileface`` on the image and on its mirror (the cascade only knows
one side). ``frontalface_default`` is not used: it fires on many non-face textures. The image is
downscaled (never stretched: a wrong aspect makes cascades miss) so a 1280x720 frame costs a
fraction of a second. Any detector error refuses the image ("fail closed").

opencv-python-headless must be 4.x: 5.0 ships no cascades and no CascadeClassifier.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import numpy.typing as npt

from reelforge.policy.decision import ALLOWED, PolicyDecision, refusal

log = logging.getLogger("reelforge.policy")

_FRONTAL = ("haarcascade_frontalface_alt2.xml", "haarcascade_frontalface_alt.xml")
_PROFILE = "haarcascade_profileface.xml"


@dataclass(frozen=True)
class FaceDetectorSettings:
    """Tuned on 1280x720 frames: faces down to ~50 px tall in the original are found."""

    # Measured (tests/policy/images.py, bench/bench_policy.py): any smaller side loses faces or
    # adds false hits: 600 -> 2 cats refused, 576 -> 7/10 faces, 512 -> 9/10, 480 -> 6/10,
    # 400 -> 6/10; profile cascades alone at 480 miss 1/10. 640 is 10/10 with no false hit.
    max_side: int = 640
    scale_factor: float = 1.1
    # A finer profile step (1.05) finds smaller side views but also fires on cat faces.
    profile_scale_factor: float = 1.1
    min_neighbors: int = 5
    min_face: int = 20


class FacePolicy:
    """The image half of the content policy. Thread-safe: each thread gets its own cascades."""

    def __init__(
        self, settings: FaceDetectorSettings | None = None, cascade_dir: Path | None = None
    ) -> None:
        self._settings = settings or FaceDetectorSettings()
        self._cascade_dir = cascade_dir or Path(cv2.data.haarcascades)  # type: ignore[attr-defined]
        self._local = threading.local()
        self._cascades()  # load now so that missing files fail at start-up, not per request

    def check(self, frame: npt.NDArray[np.uint8]) -> PolicyDecision:
        """``frame``: HxWx3 uint8 RGB. Refused with category "face" when a face is found."""
        _validate(frame)
        try:
            detector = self._detect(frame)
        except Exception:
            log.exception("face detector failed; refusing the image")
            return refusal("face", "detector_error")
        if detector is None:
            return ALLOWED
        return refusal("face", f"face:opencv:{detector}")

    def _detect(self, frame: npt.NDArray[np.uint8]) -> str | None:
        """The name of the first cascade that finds a face, or None."""
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
        # OpenCV does not promise that one classifier may run in several threads at once.
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


def _validate(frame: object) -> None:
    if not isinstance(frame, np.ndarray):
        raise TypeError(f"frame must be a numpy array, not {type(frame).__name__}")
    if frame.dtype != np.uint8 or frame.ndim != 3 or frame.shape[2] != 3:
        raise ValueError(
            f"frame must be an HxWx3 uint8 RGB array, got shape {frame.shape} dtype {frame.dtype}; "
            "decode the image to RGB first"
        )
    if min(frame.shape[:2]) < 1:
        raise ValueError(f"frame is empty (shape {frame.shape})")
