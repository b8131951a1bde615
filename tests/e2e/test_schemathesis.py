"""Property-based tests from our own OpenAPI document: the schemathesis CLI, with every check,
against a live server, over every operation of both surfaces with an authenticated key. No 5xx;
every status code, content type, header and body conforms to the schema; what the schema calls
invalid is refused and what it calls valid is accepted; a method a path does not serve is a
405 whose ``Allow`` lists the ones it does; the key is really checked. (The CLI rather than
schemathesis' pytest plugin: the plugin's lazy fixture loader does not work with pytest 9.)

``schemathesis_hooks.py`` supplies what a schema cannot say (reachable URLs, real images, fresh
idempotency keys, ordered dates); ``schemathesis.toml`` bounds how much of an event stream is
read and gives the operations that need a completed job one. schemathesis accepts an empty
``Allow`` header, so tests/api/test_schema_truth.py checks each path's ``Allow`` exactly."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from reelforge.api.seed_routes import GENERATION
from reelforge.domain.limits import ALLOWED_SIZES
from reelforge.net.fetch import ImageFetcher
from reelforge.worker import Worker
from tests.e2e import schemathesis_hooks
from tests.support.image_cases import ImageServer, make_image
from tests.support.live import LiveServer, running_server
from tests.support.webhook_receiver import WebhookReceiver

HERE = Path(__file__).parent
# Enough for each operation's examples, coverage cases and a few hundred fuzzed requests in all
# while the run stays within a couple of minutes on two cores.
MAX_EXAMPLES = "20"


@pytest.fixture(scope="module")
def fuzz_env(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[LiveServer, dict[str, str]]]:
    """The server (no workers: the fuzzer creates hundreds of jobs) and the environment of the
    CLI: where its hooks find first frames and a webhook receiver on loopback."""
    with ImageServer() as frames, WebhookReceiver() as receiver:
        for size in ALLOWED_SIZES:
            width, height = (int(part) for part in size.split("x"))
            frames.image(f"/frames/{size}.png", make_image("PNG", width, height))
        # DNS answers with a documentation address, so any other host is refused at once
        # instead of waiting on a lookup; the frame server is allowed by name.
        fetcher = ImageFetcher(
            allow_hosts=frozenset({frames.authority}),
            resolver=lambda _host, _port: ["192.0.2.1"],
        )
        data_dir: Path = tmp_path_factory.mktemp("fuzz") / "data"
        with running_server(
            data_dir, fetcher, embedded_workers=False, webhook_allow_private=["127.0.0.0/8"]
        ) as server:
            yield (
                server,
                {
                    schemathesis_hooks.IMAGES_ENV: frames.url("/frames/"),
                    schemathesis_hooks.WEBHOOK_ENV: receiver.url,
                    **completed_jobs(server),
                },
            )


def completed_jobs(server: LiveServer) -> dict[str, str]:
    """A completed video and a completed seed task (run by an in-process worker), for the
    operations that need one (``schemathesis.toml``)."""
    with server.client() as client:
        video = client.post("/v1/videos", json={"prompt": "a lighthouse at dusk"})
        task = client.post(GENERATION, json={"prompt": "a harbour at dawn", "seconds": "4"})
    assert video.status_code == 200 and task.status_code == 202, video.text + task.text
    assert Worker(server.runtime).run_until_idle() == 2
    return {"FUZZ_VIDEO_ID": video.json()["id"], "FUZZ_TASK_ID": task.json()["task_info"]["id"]}


@pytest.mark.slow
def test_api_conforms_to_its_schema(
    fuzz_env: tuple[LiveServer, dict[str, str]], tmp_path: Path
) -> None:
    server, hook_env = fuzz_env
    command = [
        str(Path(sys.executable).with_name("schemathesis")),
        "--config-file",
        str(HERE / "schemathesis.toml"),
        "run",
        server.base_url + "/openapi.json",
        "--checks",
        "all",
        "--header",
        f"Authorization: Bearer {server.token}",
        "--max-examples",
        MAX_EXAMPLES,
        "--seed",
        "20261124",
        "--phases",
        "examples,coverage,fuzzing,stateful",
        "--request-timeout",
        "30",
        "--report-dir",
        str(tmp_path),
        "--no-color",
    ]
    env = {
        **os.environ,
        **hook_env,
        "SCHEMATHESIS_HOOKS": str(HERE / "schemathesis_hooks.py"),
    }
    # cwd: the CLI keeps its example database in .schemathesis/ of the working directory.
    done = subprocess.run(
        command, capture_output=True, text=True, timeout=900, cwd=tmp_path, env=env
    )
    assert done.returncode == 0, done.stdout[-8000:] + done.stderr[-2000:]
    # Every operation ran: none skipped or filtered out.
    assert "Selected: " in done.stdout
    selected = done.stdout.split("Selected: ")[1].split()[0]
    tested = done.stdout.split("Tested: ")[1].split()[0]
    assert selected.split("/")[0] == selected.split("/")[1] == tested, done.stdout[-3000:]
