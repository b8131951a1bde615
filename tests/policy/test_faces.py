from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pytest

from reelforge.policy import FacePolicy, PolicyDecision
from reelforge.policy.face_ssd import SsdSettings, model_files

# scikit-image (a dev/test dependency) provides the labelled photos.
pytest.importorskip("skimage", reason="install the dev extra: scikit-image provides test images")

from tests.policy.images import (
    LabelledImage,
    hard_faces,
    labelled_images,
    sample,
)


@pytest.fixture(scope="module")
def faces() -> FacePolicy:
    return FacePolicy()


@pytest.fixture(scope="module")
def results(faces: FacePolicy) -> list[tuple[LabelledImage, PolicyDecision]]:
    return [(image, faces.check(image.frame)) for image in labelled_images()]


def test_labelled_set_has_at_least_20_images(
    results: list[tuple[LabelledImage, PolicyDecision]],
) -> None:
    assert len(results) >= 20
    assert sum(image.has_face for image, _ in results) >= 10


def test_every_face_image_is_refused(results: list[tuple[LabelledImage, PolicyDecision]]) -> None:
    missed = [image.name for image, decision in results if image.has_face and decision.allowed]
    assert missed == []
    for image, decision in results:
        if image.has_face:
            assert decision.category == "face"
            assert decision.rule == "face:ssd"


def test_at_most_5_percent_of_non_face_images_are_refused(
    results: list[tuple[LabelledImage, PolicyDecision]],
) -> None:
    non_faces = [(image, decision) for image, decision in results if not image.has_face]
    refused = [image.name for image, decision in non_faces if not decision.allowed]
    assert len(refused) <= 0.05 * len(non_faces), refused


@pytest.mark.slow
def test_hard_faces_are_all_refused(faces: FacePolicy) -> None:
    """The LFW crops (cut tight at brow and chin) and camera.png at native size."""
    missed = [image.name for image in hard_faces() if faces.check(image.frame).allowed]
    assert missed == []


def test_the_cnn_detector_is_active_by_default(faces: FacePolicy) -> None:
    assert faces.detector == "ssd"


def test_detector_error_fails_closed(caplog: pytest.LogCaptureFixture) -> None:
    # A weights file that loads but is not a network for this frame: OpenCV raises on forward.
    files = model_files()
    assert files is not None
    policy = FacePolicy(SsdSettings(max_side=640), model=files)
    broken = np.zeros((2, 2, 3), np.uint8)  # smaller than the network's first pooling window
    with caplog.at_level(logging.INFO, logger="reelforge.policy"):
        decision = policy.check(broken)
    assert (decision.allowed, decision.category, decision.rule) == (False, "face", "detector_error")
    assert "category=face rule=detector_error" in caplog.text


def test_unreadable_model_fails_at_construction(tmp_path: Path) -> None:
    prototxt, weights = tmp_path / "deploy.prototxt", tmp_path / "weights.caffemodel"
    prototxt.write_text("not a network")
    weights.write_bytes(b"\0" * 64)
    with pytest.raises(RuntimeError, match="cannot load the face detection model"):
        FacePolicy(model=(prototxt, weights))


def test_missing_cascade_files_fail_at_construction(tmp_path: Path) -> None:
    with pytest.raises(RuntimeError, match=r"opencv-python-headless>=4\.8,<5"):
        FacePolicy(use_haar=True, cascade_dir=tmp_path)


def test_haar_fallback_still_refuses_a_plain_face() -> None:
    haar = FacePolicy(use_haar=True)
    decision = haar.check(sample("astronaut"))
    assert haar.detector == "haar"
    assert decision.rule is not None and decision.rule.startswith("face:haar:")


@pytest.mark.parametrize(
    ("frame", "error"),
    [
        (np.zeros((720, 1280), np.uint8), ValueError),
        (np.zeros((720, 1280, 4), np.uint8), ValueError),
        (np.zeros((720, 1280, 3), np.float32), ValueError),
        (np.zeros((0, 1280, 3), np.uint8), ValueError),
        ([[0, 0, 0]], TypeError),
    ],
)
def test_bad_frames_are_rejected_with_a_clear_error(
    faces: FacePolicy, frame: object, error: type[Exception]
) -> None:
    with pytest.raises(error, match="frame"):
        faces.check(frame)  # type: ignore[arg-type]


def test_face_message_is_plain_and_names_depictions(faces: FacePolicy) -> None:
    decision = faces.check(sample("astronaut"))
    assert "faces" in decision.message
    assert "paintings, statues or 3D renders" in decision.message
