"""`reelforge serve` as a newcomer runs it: a fresh data directory ends with a working key."""

from __future__ import annotations

import signal
import socket
import stat
import subprocess
import sys
from pathlib import Path

import httpx

from reelforge.api.bootstrap import FIRST_KEY_FILE
from tests.support.settings import fast_settings, subprocess_env
from tests.support.wait import wait_for


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_first_serve_creates_a_key_file_and_serves(tmp_path: Path) -> None:
    settings = fast_settings(tmp_path / "data", engine="testcard")
    port = _free_port()
    command = [sys.executable, "-m", "reelforge.cli", "serve", "--port", str(port)]
    server = subprocess.Popen(
        command, env=subprocess_env(settings), stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    base = f"http://127.0.0.1:{port}"

    def serve_is_healthy() -> bool:
        assert server.poll() is None, "serve exited before it answered /healthz"
        try:
            return httpx.get(base + "/healthz", timeout=1).status_code == 200
        except httpx.TransportError:
            return False

    try:
        wait_for(serve_is_healthy, timeout=60, interval=0.1)
        key_file = settings.data_dir / FIRST_KEY_FILE
        assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
        token = key_file.read_text().strip()
        headers = {"Authorization": f"Bearer {token}"}
        listing = httpx.get(base + "/v1/videos", headers=headers)
        assert listing.status_code == 200 and listing.json()["object"] == "list"
    finally:
        server.send_signal(signal.SIGTERM)
        output, _ = server.communicate(timeout=60)
    log = output.decode()
    # uvicorn re-raises SIGTERM after a clean shutdown, so the exit status is -SIGTERM.
    assert server.returncode in (0, -signal.SIGTERM), log
    assert "Application shutdown complete" in log
    assert FIRST_KEY_FILE in log  # the log names the file ...
    assert token not in log  # ... never the token
