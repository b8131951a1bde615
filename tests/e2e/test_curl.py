"""The seed page's curl example, sent verbatim by the real ``curl`` binary to a real server on
loopback, then the GET flow until completed and the MP4 downloaded by curl from ``videos[0]``
and probed. The other seed-surface tests run in-process (``tests/api/test_seed_surface.py``)."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import uuid
from pathlib import Path

import pytest

from reelforge.media import probe
from tests.support.live import LiveServer
from tests.support.wait import wait_for

TIMESTAMP = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$")
# The example exactly as the seed reference page prints it; only the host and the token are
# substituted before it runs.
CURL_EXAMPLE = """curl --request POST \\
  --url https://api.mulerun.com/vendors/openai/v1/sora/generation \\
  --header 'Authorization: Bearer <token>' \\
  --header 'Content-Type: application/json' \\
  --data '
{
  "prompt": "A serene sunset over a calm ocean, with gentle waves lapping against the shore",
  "model": "sora-2",
  "seconds": "8",
  "size": "1280x720"
}
'"""


@pytest.fixture(scope="module")
def curl() -> str:
    path = shutil.which("curl")
    assert path is not None, "these tests need the curl binary (apt-get install curl)"
    return path


def run_curl(curl: str, live_server: LiveServer) -> dict[str, object]:
    command = CURL_EXAMPLE.replace("https://api.mulerun.com", live_server.base_url)
    command = command.replace("<token>", live_server.token)
    flags = "--silent --show-error --write-out '\\n%{http_code}'"
    command = command.replace("curl ", f"{curl} {flags} ", 1)
    done = subprocess.run(["bash", "-c", command], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    body, status = done.stdout.rsplit("\n", 1)
    assert status == "202", body
    parsed: dict[str, object] = json.loads(body)
    return parsed


def test_curl_example_then_poll_then_download(
    curl: str, live_server: LiveServer, tmp_path: Path
) -> None:
    created = run_curl(curl, live_server)
    info = created["task_info"]
    assert isinstance(info, dict)
    # The gateway's four fields, plus only ReelForge's documented, additive extensions.
    assert {"id", "status", "created_at", "updated_at"} <= set(info)
    assert set(info) - {"id", "status", "created_at", "updated_at"} <= {
        "queue_position",
        "estimated_start_at",
        "estimated_completion_at",
        "phase",
    }
    assert info["phase"] == "queued" and isinstance(info["queue_position"], int)
    assert str(uuid.UUID(info["id"])) == info["id"]
    assert info["status"] == "pending"
    assert TIMESTAMP.match(info["created_at"]) and TIMESTAMP.match(info["updated_at"])

    seen: set[str] = set()

    def completed() -> dict[str, object] | None:
        with live_server.client() as http:
            body = http.get(f"/vendors/openai/v1/sora/generation/{info['id']}").json()
        seen.add(body["task_info"]["status"])
        return body if body["task_info"]["status"] in ("completed", "failed") else None

    final = wait_for(completed, timeout=120, interval=0.2)
    assert final["task_info"]["status"] == "completed", final
    assert seen <= {"pending", "processing", "completed"}
    videos = final["videos"]
    assert isinstance(videos, list) and len(videos) == 1
    # A signed link: no Authorization header, as a <video src> would fetch it.
    target = tmp_path / "video.mp4"
    fetched = subprocess.run(
        [curl, "--silent", "--fail", "--output", str(target), videos[0]], timeout=60
    )
    assert fetched.returncode == 0
    media = probe(target)
    assert (media.width, media.height) == (1280, 720)
    assert media.duration == pytest.approx(8.0, abs=0.1)
    assert media.moov_before_mdat
    # Download tools probe first: HEAD through the real server, the file's headers, no body.
    probed = head(curl, videos[0])
    assert probed["status"] == "200" and probed["content-type"] == "video/mp4"
    assert probed["content-length"] == str(target.stat().st_size) and probed["etag"]
    refused = head(curl, videos[0].replace("signature=", "signature=x"))
    assert refused["status"] == "403" and int(refused["content-length"]) > 0


def head(curl: str, url: str) -> dict[str, str]:
    """The status and headers ``curl --head`` received (lower-case names)."""
    done = subprocess.run(
        [curl, "--silent", "--head", url], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    status_line, *lines = done.stdout.strip().splitlines()
    headers = dict(line.split(": ", 1) for line in lines if ": " in line)
    return {"status": status_line.split()[1], **{k.lower(): v for k, v in headers.items()}}
