"""Two ways to run the ``reelforge`` command in tests.

``run_main`` calls ``reelforge.cli.app.main`` in this process (fast: no interpreter start, no
imports), with its own environment, stdout and stderr; ``run_subprocess`` runs
``python -m reelforge.cli`` as a user would. Both return the exit code and the two streams, and
both see only the ``REELFORGE_*`` variables they are given.
"""

from __future__ import annotations

import io
import logging
import os
import subprocess
import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager, redirect_stderr, redirect_stdout
from dataclasses import dataclass
from pathlib import Path

import pytest

from reelforge.cli.app import main
from tests.support.settings import REPO_ROOT

# A 4 s portrait video of one prompt: the local and the remote ``generate`` tests both ask for it.
KITE_PORTRAIT = (
    "generate",
    "A red kite over a grassy park",
    "--seconds",
    "4",
    "--size",
    "720x1280",
)


def generate_with_a_small_image(folder: Path) -> tuple[str, ...]:
    """``generate`` arguments whose first frame (a 640x360 PNG written into ``folder``) does
    not fit the default size, 1280x720."""
    from PIL import Image

    image = folder / "small.png"
    Image.new("RGB", (640, 360), "navy").save(image)
    return ("generate", "a boat", "--image", str(image), "-o", str(folder / "x.mp4"))


@dataclass(frozen=True)
class Outcome:
    code: int
    stdout: str
    stderr: str

    @property
    def error_lines(self) -> list[str]:
        """The non-empty lines on stderr."""
        return [line for line in self.stderr.splitlines() if line.strip()]

    def assert_one_error_line(self, *fragments: str, code: int = 2) -> str:
        """Exit ``code`` (2: a usage error), no traceback, and stderr is exactly one ``error:``
        line containing each fragment; returns that line."""
        assert self.code == code, self.stdout + self.stderr
        assert "Traceback" not in self.stderr
        assert len(self.error_lines) == 1, self.stderr
        line = self.error_lines[0]
        assert line.startswith("error: "), line
        for fragment in fragments:
            assert fragment in line, line
        return line


def run_main(*args: str, env: Mapping[str, str] | None = None) -> Outcome:
    """``reelforge ARGS`` in this process; ``env`` replaces every ``REELFORGE_*`` variable."""
    out, err = io.StringIO(), io.StringIO()
    with (
        pytest.MonkeyPatch.context() as patch,
        root_logging_kept(),
        redirect_stdout(out),
        redirect_stderr(err),
    ):
        for name in [name for name in os.environ if name.startswith("REELFORGE_")]:
            patch.delenv(name)
        for name, value in (env or {}).items():
            patch.setenv(name, value)
        try:
            main(list(args))
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else 1
        else:
            code = 0
    return Outcome(code, out.getvalue(), err.getvalue())


@contextmanager
def root_logging_kept() -> Iterator[None]:
    """The command installs its own log handler on the root logger; take it away afterwards
    so later tests do not write to this run's closed stderr."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    try:
        yield
    finally:
        root.handlers[:] = handlers
        root.setLevel(level)


def run_subprocess(*args: str, env: Mapping[str, str], timeout: float = 180) -> Outcome:
    """``python -m reelforge.cli ARGS`` with ``env`` as its only ``REELFORGE_*`` variables."""
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("REELFORGE_")}
    full_env.update({"PYTHONPATH": str(REPO_ROOT), "COLUMNS": "200", **env})
    result = subprocess.run(
        [sys.executable, "-m", "reelforge.cli", *args],
        env=full_env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    return Outcome(result.returncode, result.stdout, result.stderr)
