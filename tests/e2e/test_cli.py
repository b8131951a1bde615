"""The command line as a newcomer uses it: real subprocesses, real files."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.settings import REPO_ROOT


def run_cli(
    *args: str, env: dict[str, str], timeout: float = 180
) -> subprocess.CompletedProcess[str]:
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("REELFORGE_")}
    full_env.update({"PYTHONPATH": str(REPO_ROOT), "COLUMNS": "200", **env})
    return subprocess.run(
        [sys.executable, "-m", "reelforge.cli", *args],
        env=full_env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


BAD_CONFIGS = [
    pytest.param(
        {"REELFORGE_DATA_DIR": "{file}/sub"}, "REELFORGE_DATA_DIR", id="unwritable-data-dir"
    ),
    pytest.param(
        {"REELFORGE_DATABASE_URL": "postgresql+psycopg://nobody@127.0.0.1:9/none"},
        "REELFORGE_DATABASE_URL",
        id="unreachable-database",
    ),
    pytest.param(
        {"REELFORGE_DATABASE_URL": "mysqlx://what"},
        "REELFORGE_DATABASE_URL",
        id="unusable-database-url",
    ),
    pytest.param({"REELFORGE_ENGINE": "warpdrive"}, "REELFORGE_ENGINE", id="unknown-engine"),
    pytest.param(
        {"REELFORGE_WORKER_CONCURRENCY": "zero"}, "worker_concurrency", id="invalid-number"
    ),
]


@pytest.mark.parametrize(("env", "hint"), BAD_CONFIGS)
@pytest.mark.parametrize("command", ["worker", "serve"])
def test_bad_configuration_fails_at_start_with_one_clear_line(
    command: str, env: dict[str, str], hint: str, tmp_path: Path
) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    env = {k: v.replace("{file}", str(blocker)) for k, v in env.items()}
    env.setdefault("REELFORGE_DATA_DIR", str(tmp_path / "data"))
    result = run_cli(command, env=env, timeout=60)
    assert result.returncode == 2, result.stdout + result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: ")
    assert hint in lines[0]
    assert "Traceback" not in result.stderr


def test_generate_writes_a_playable_mp4(tmp_path: Path) -> None:
    from reelforge.media import probe

    out = tmp_path / "out" / "kite.mp4"
    result = run_cli(
        "generate",
        "A red kite over a grassy park",
        "--seconds",
        "4",
        "--size",
        "720x1280",
        "--seed",
        "11",
        "-o",
        str(out),
        env={"REELFORGE_DATA_DIR": str(tmp_path / "data")},
    )
    assert result.returncode == 0, result.stderr
    info = probe(out)
    assert (info.width, info.height) == (720, 1280)
    assert abs(info.duration - 4.0) <= 1 / 24
    assert info.video_codec == "h264" and info.audio_codec == "aac"
    assert "testcard" in result.stderr


def test_generate_with_a_first_frame_image(tmp_path: Path) -> None:
    import numpy as np
    from PIL import Image

    from reelforge.media import probe

    image = tmp_path / "first.png"
    gradient = np.linspace(0, 255, 1280, dtype=np.uint8)[None, :, None].repeat(720, 0).repeat(3, 2)
    Image.fromarray(gradient).save(image)
    out = tmp_path / "from-image.mp4"
    result = run_cli(
        "generate",
        "the light slowly changes",
        "--seconds",
        "4",
        "--image",
        str(image),
        "-o",
        str(out),
        env={"REELFORGE_DATA_DIR": str(tmp_path / "data")},
    )
    assert result.returncode == 0, result.stderr
    assert probe(out).width == 1280


def test_generate_with_a_wrong_size_image_says_what_to_fix(tmp_path: Path) -> None:
    from PIL import Image

    image = tmp_path / "small.png"
    Image.new("RGB", (640, 360), "navy").save(image)
    result = run_cli(
        "generate",
        "a boat",
        "--image",
        str(image),
        "-o",
        str(tmp_path / "x.mp4"),
        env={"REELFORGE_DATA_DIR": str(tmp_path / "data")},
    )
    assert result.returncode == 2
    assert "640x360" in result.stderr and "1280x720" in result.stderr
