from __future__ import annotations

import logging
from pathlib import Path

import cv2
import numpy as np
import pytest

from reelforge.policy import FacePolicy, PolicyDecision

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
            assert decision.rule is not None and decision.rule.startswith("face:opencv:")


def test_at_most_5_percent_of_non_face_images_are_refused(
    results: list[tuple[LabelledImage, PolicyDecision]],
) -> None:
    non_faces = [(image, decision) for image, decision in results if not image.has_face]
    refused = [image.name for image, decision in non_faces if not decision.allowed]
    assert len(refused) <= 0.05 * len(non_faces), refused


@pytest.mark.slow
def test_hard_faces_are_mostly_refused(faces: FacePolicy) -> None:
    hard = hard_faces()
    caught = sum(not faces.check(image.frame).allowed for image in hard)
    assert caught >= 0.8 * len(hard)


def test_detector_error_fails_closed(
    faces: FacePolicy, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def broken(*args: object, **kwargs: object) -> bool:
        raise cv2.error("simulated detector failure")

    monkeypatch.setattr(faces, "_finds", broken)
    with caplog.at_level(logging.INFO, logger="reelforge.policy"):
        decision = faces.check(sample("coffee"))
    assert (decision.allowed, decision.category, decision.rule) == (False, "face", "detector_error")
    assert "category=face rule=detector_error" in caplog.text


def test_missing_cascade_files_fail_at_construction(tmp_path: Path) -> None:
    with pytest.raises(RuntimeError, match=r"opencv-python-headless>=4\.8,<5"):
        FacePolicy(cascade_dir=tmp_path)


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


def test_face_message_is_plain(faces: FacePolicy) -> None:
    decision = faces.check(sample("astronaut"))
    assert "faces" in decision.message
