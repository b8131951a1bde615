"""What the commands print: plain, unwrapped log lines off a terminal, and text with square
brackets printed as it is (never read as Rich markup)."""

from __future__ import annotations

import io
import logging
import re
from contextlib import redirect_stderr
from pathlib import Path

import pytest

from reelforge.cli.common import print_error, setup_logging
from tests.support.cli import root_logging_kept, run_main

LONG_URL = "https://models.example.com/" + "/".join(f"segment-{i:03d}" for i in range(40))
LOG_LINE = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} (INFO|WARNING) reelforge\.\S+: ")


def test_log_lines_off_a_terminal_are_plain_and_never_wrapped(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("COLUMNS", "80")
    stderr = io.StringIO()
    with root_logging_kept(), redirect_stderr(stderr):
        setup_logging()
        logging.getLogger("reelforge.test").warning("downloading %s", LONG_URL)
    assert LOG_LINE.match(stderr.getvalue())
    assert stderr.getvalue().splitlines() == [stderr.getvalue().rstrip("\n")]
    assert stderr.getvalue().endswith(f"WARNING reelforge.test: downloading {LONG_URL}\n")
    assert "\x1b[" not in stderr.getvalue()  # no colours


def test_quiet_loggers_keep_their_errors() -> None:
    stderr = io.StringIO()
    with root_logging_kept(), redirect_stderr(stderr):
        setup_logging(quiet=["reelforge.policy"])
        logging.getLogger("reelforge.policy").warning("refused: category=x")
        logging.getLogger("reelforge.policy").error("the face detector failed")
        logging.getLogger("reelforge.worker").info("started")
    lines = stderr.getvalue().splitlines()
    assert [line.split(" ", 3)[3] for line in lines] == [
        "reelforge.policy: the face detector failed",
        "reelforge.worker: started",
    ]


def test_a_long_error_stays_on_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    print_error(f"could not download {LONG_URL}")
    assert capsys.readouterr().err == f"error: could not download {LONG_URL}\n"


def test_keys_list_shows_names_with_square_brackets(tmp_path: Path) -> None:
    env = {"REELFORGE_DATA_DIR": str(tmp_path / "data"), "COLUMNS": "200"}
    created = run_main("keys", "create", "--name", "ci[gpu]", env=env)
    assert created.code == 0, created.stderr
    assert "(ci[gpu])" in created.stderr
    listed = run_main("keys", "list", env=env)
    assert listed.code == 0, listed.stderr
    assert "ci[gpu]" in listed.stdout
