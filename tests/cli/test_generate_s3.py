"""``reelforge generate`` with media in an S3 bucket (a real S3 protocol server on loopback):
the video is rendered into the bucket and copied from there to ``-o``."""

from __future__ import annotations

from pathlib import Path

from reelforge.media import probe
from tests.support.cli import run_main
from tests.support.s3 import S3Bucket


def test_generate_writes_the_video_from_the_bucket(s3_bucket: S3Bucket, tmp_path: Path) -> None:
    env = {**s3_bucket.env(), "REELFORGE_DATA_DIR": str(tmp_path / "data")}
    video = tmp_path / "out" / "lake.mp4"
    outcome = run_main("generate", "a calm lake", "--seconds", "4", "-o", str(video), env=env)
    assert outcome.code == 0, outcome.stderr
    assert probe(video).video_codec == "h264"
    assert any(key.endswith("/video.mp4") for key in s3_bucket.object_keys())
    assert not (tmp_path / "data" / "media").exists()
    assert "reelforge-test-secret" not in outcome.stdout + outcome.stderr
