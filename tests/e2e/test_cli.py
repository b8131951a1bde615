"""The command line as a newcomer uses it: real files, and a real process for the first video
and for one start-up failure (the rest run in this process, which is much faster)."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from tests.support.cli import (
    KITE_PORTRAIT,
    Outcome,
    generate_with_a_small_image,
    run_main,
    run_subprocess,
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


def _free_port() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return str(sock.getsockname()[1])


def _start(command: str, env: dict[str, str], tmp_path: Path, *, in_process: bool) -> Outcome:
    """Run ``command`` with ``env`` ({file}: a path that is a file, not a directory)."""
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    env = {k: v.replace("{file}", str(blocker)) for k, v in env.items()}
    env.setdefault("REELFORGE_DATA_DIR", str(tmp_path / "data"))
    # A free port, so that a busy port 8000 cannot hide the configuration error.
    args = [command, "--port", _free_port()] if command == "serve" else [command]
    return run_main(*args, env=env) if in_process else run_subprocess(*args, env=env, timeout=60)


@pytest.mark.parametrize(("env", "hint"), BAD_CONFIGS)
@pytest.mark.parametrize("command", ["worker", "serve"])
def test_bad_configuration_fails_at_start_with_one_clear_line(
    command: str, env: dict[str, str], hint: str, tmp_path: Path
) -> None:
    _start(command, env, tmp_path, in_process=True).assert_one_error_line(hint)


def test_bad_configuration_fails_with_one_clear_line_in_a_real_process(tmp_path: Path) -> None:
    outcome = _start("serve", {"REELFORGE_ENGINE": "warpdrive"}, tmp_path, in_process=False)
    outcome.assert_one_error_line("REELFORGE_ENGINE")


def test_generate_writes_a_playable_mp4(tmp_path: Path) -> None:
    from reelforge.media import probe

    out = tmp_path / "out" / "kite.mp4"
    result = run_subprocess(
        *KITE_PORTRAIT,
        "--seed",
        "11",
        "-o",
        str(out),
        env={"REELFORGE_DATA_DIR": str(tmp_path / "data")},
    )
    assert result.code == 0, result.stderr
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
    result = run_main(
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
    assert result.code == 0, result.stderr
    assert probe(out).width == 1280


def test_generate_with_a_wrong_size_image_says_what_to_fix(tmp_path: Path) -> None:
    result = run_main(
        *generate_with_a_small_image(tmp_path),
        env={"REELFORGE_DATA_DIR": str(tmp_path / "data")},
    )
    result.assert_one_error_line("--image", "640x360", "1280x720")
