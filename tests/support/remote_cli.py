"""Running the client commands (``reelforge jobs ...``, ``generate --server``) against a live
server, and setting up its videos through the HTTP API."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from reelforge.worker import Worker
from tests.support.cli import Outcome, run_main
from tests.support.live import LiveServer
from tests.support.settings import REPO_ROOT


def remote_env(server: LiveServer | str, token: str) -> dict[str, str]:
    base_url = server if isinstance(server, str) else server.base_url
    # A wide terminal, so table rows are never cut.
    return {"REELFORGE_URL": base_url, "REELFORGE_API_KEY": token, "COLUMNS": "200"}


def run_remote(server: LiveServer | str, token: str, *args: str) -> Outcome:
    """``reelforge ARGS`` in this process, with the server and key in the environment."""
    return run_main(*args, env=remote_env(server, token))


def start_remote(server: LiveServer, token: str, *args: str) -> subprocess.Popen[str]:
    """``reelforge ARGS`` in a process of its own, still running when this returns."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("REELFORGE_")}
    env.update({"PYTHONPATH": str(REPO_ROOT), **remote_env(server, token)})
    return subprocess.Popen(
        [sys.executable, "-m", "reelforge.cli", *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def finished(process: subprocess.Popen[str], timeout: float = 120) -> Outcome:
    stdout, stderr = process.communicate(timeout=timeout)
    return Outcome(process.returncode, stdout, stderr)


def new_key(server: LiveServer, name: str = "cli") -> str:
    """A fresh key's token: its video list holds only what the test makes."""
    return server.runtime.keys.create(name).token


def create_video(server: LiveServer, token: str, prompt: str, **fields: object) -> str:
    with server.client(token) as http:
        created = http.post("/v1/videos", json={"prompt": prompt, "seconds": "4", **fields})
    assert created.status_code == 200, created.text
    return str(created.json()["id"])


def run_queue(server: LiveServer) -> int:
    """Run every queued video to its end in this thread (the server has no workers)."""
    return Worker(server.runtime).run_until_idle()


def files_in(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir())


def one_line(outcome: Outcome, code: int, *fragments: str) -> str:
    """Exit ``code``, no traceback, and stderr is one ``error:`` line with each fragment."""
    return outcome.assert_one_error_line(*fragments, code=code)
