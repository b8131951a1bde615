"""The face policy on the evaluation set (tests/policy/face_eval.py): hard faces, hard negatives."""

from __future__ import annotations

import pytest

from reelforge.policy import FacePolicy

pytest.importorskip("skimage", reason="install the dev extra: scikit-image provides test images")

from tests.policy.face_eval import face_images, non_face_images

HARD_KINDS = ("small_6pct", "small_9pct", "rotated_+25", "rotated_-25", "dark_noisy", "grayscale")


@pytest.fixture(scope="module")
def faces() -> FacePolicy:
    return FacePolicy()


def test_the_set_covers_every_hard_kind() -> None:
    names = [image.name for image in face_images()]
    assert len(names) >= 40
    for kind in (*HARD_KINDS, "mirrored", "cut_left_edge", "rotated_+30", "rotated_-30"):
        assert sum(name.endswith(kind) for name in names) >= 2, kind
    # camera.png is a three-quarter side view.
    assert any(name.startswith("camera_") for name in names)
    assert len(non_face_images()) >= 30


@pytest.mark.slow
def test_every_face_is_refused(faces: FacePolicy) -> None:
    missed = [image.name for image in face_images() if faces.check(image.frame).allowed]
    assert missed == []


@pytest.mark.slow
def test_at_most_5_percent_of_hard_negatives_are_refused(faces: FacePolicy) -> None:
    non_faces = non_face_images()
    refused = [image.name for image in non_faces if not faces.check(image.frame).allowed]
    assert len(refused) <= 0.05 * len(non_faces), refused
