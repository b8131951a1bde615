"""Every client command ends a wrong URL, a wrong key, a missing setting or a failing server
with one ``error:`` line and a non-zero exit code, never a traceback. The servers are real:
the live ReelForge server, a closed port, a host that cannot resolve, and loopback HTTP servers
that are not ReelForge (a file server, a failing proxy, a listener that does not speak HTTP)."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.cli import Outcome, run_main, run_subprocess
from tests.support.image_cases import ImageServer, Route
from tests.support.live import LiveServer, running_server
from tests.support.remote_cli import files_in, new_key, one_line, remote_env, run_remote
from tests.support.wait import wait_for

SOME_VIDEO = "video_" + "1" * 32
WELL_FORMED_UNKNOWN_KEY = "rf_000000000000_" + "A" * 43
COMMANDS = [
    pytest.param(("jobs", "list"), id="list"),
    pytest.param(("jobs", "show", SOME_VIDEO), id="show"),
    pytest.param(("jobs", "cancel", SOME_VIDEO), id="cancel"),
    pytest.param(("jobs", "download", SOME_VIDEO, "-o", "{tmp}/x.mp4"), id="download"),
    pytest.param(("jobs", "watch", SOME_VIDEO), id="watch"),
    pytest.param(("generate", "a kite", "-o", "{tmp}/x.mp4"), id="generate"),
]


def closed_port_url() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{sock.getsockname()[1]}"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """The live ReelForge server, on SQLite only: what these tests check does not depend on
    the database (the other client tests run on PostgreSQL too)."""
    with running_server(tmp_path_factory.mktemp("remote-errors") / "data") as live:
        yield live


@pytest.fixture(scope="module")
def other_server() -> Iterator[ImageServer]:
    """A loopback HTTP server with routes set per test: not a ReelForge server."""
    with ImageServer() as server:
        yield server


def filled(args: tuple[str, ...], tmp_path: Path) -> list[str]:
    return [arg.replace("{tmp}", str(tmp_path)) for arg in args]


# -- wrong URL -----------------------------------------------------------------------------------


@pytest.mark.parametrize("args", COMMANDS)
def test_connection_refused_is_one_line_for_every_command(
    args: tuple[str, ...], tmp_path: Path
) -> None:
    url = closed_port_url()
    outcome = run_remote(url, WELL_FORMED_UNKNOWN_KEY, *filled(args, tmp_path))
    one_line(outcome, 2, f"cannot reach {url}: connection refused", "REELFORGE_URL")
    assert files_in(tmp_path) == []


def test_connection_refused_in_a_real_process() -> None:
    url = closed_port_url()
    env = remote_env(url, WELL_FORMED_UNKNOWN_KEY)
    outcome = run_subprocess("jobs", "list", env=env, timeout=60)
    one_line(outcome, 2, f"cannot reach {url}: connection refused")


def test_an_unknown_host_is_one_line() -> None:
    # .invalid never resolves (RFC 6761).
    outcome = run_remote("http://reelforge.invalid:8000", WELL_FORMED_UNKNOWN_KEY, "jobs", "list")
    one_line(outcome, 2, "cannot reach http://reelforge.invalid:8000", "not found")


@pytest.mark.parametrize("url", ["localhost:8000", "ftp://127.0.0.1/", "http://"])
def test_a_url_that_is_not_http_is_one_line(url: str) -> None:
    outcome = run_remote(url, WELL_FORMED_UNKNOWN_KEY, "jobs", "list")
    one_line(outcome, 2, f"server URL {url!r} is not an http(s) URL", "http://127.0.0.1:8000")


def test_a_server_that_is_not_reelforge_is_one_line(other_server: ImageServer) -> None:
    other_server.routes["/v1/videos?limit=20&order=desc"] = Route(
        status=404, headers={"Content-Type": "text/html"}, body=lambda: iter([b"<h1>nope</h1>"])
    )
    url = other_server.url("")
    outcome = run_remote(url, WELL_FORMED_UNKNOWN_KEY, "jobs", "list")
    one_line(outcome, 2, f"{url} answered GET /v1/videos with 404", "not how a ReelForge")


def test_a_200_that_is_not_a_video_is_one_line(other_server: ImageServer) -> None:
    """A login page or a catch-all answering 200: its body is checked, not trusted."""
    other_server.routes[f"/v1/videos/{SOME_VIDEO}"] = Route(
        headers={"Content-Type": "application/json"},
        body=lambda: iter([json.dumps({"hello": "world"}).encode()]),
    )
    outcome = run_remote(other_server.url(""), WELL_FORMED_UNKNOWN_KEY, "jobs", "show", SOME_VIDEO)
    one_line(outcome, 2, "JSON that is not ReelForge's", "check --server")


def test_a_listener_that_does_not_speak_http_is_one_line(other_server: ImageServer) -> None:
    other_server.routes["/v1/videos?limit=20&order=desc"] = Route(
        raw=b"SSH-2.0-OpenSSH_9.6\r\nProtocol mismatch.\r\n\r\n"
    )
    url = other_server.url("")
    outcome = run_remote(url, WELL_FORMED_UNKNOWN_KEY, "jobs", "list")
    one_line(outcome, 2, f"{url} did not answer in HTTP")


def test_a_listener_that_hangs_up_at_once_is_one_line(other_server: ImageServer) -> None:
    other_server.routes["/v1/videos?limit=20&order=desc"] = Route(raw=b"")
    url = other_server.url("")
    outcome = run_remote(url, WELL_FORMED_UNKNOWN_KEY, "jobs", "list")
    one_line(outcome, 2, f"cannot reach {url}: it closed the connection without an answer")


# -- server errors -------------------------------------------------------------------------------


def test_a_failing_proxy_is_one_line_and_exit_code_1(other_server: ImageServer) -> None:
    other_server.routes[f"/v1/videos/{SOME_VIDEO}"] = Route(
        status=502, headers={"Content-Type": "text/html"}, body=lambda: iter([b"Bad Gateway"])
    )
    outcome = run_remote(other_server.url(""), WELL_FORMED_UNKNOWN_KEY, "jobs", "show", SOME_VIDEO)
    one_line(outcome, 1, "with 502", "try again later")


def test_a_server_error_in_the_apis_shape_is_one_line_and_exit_code_1(
    other_server: ImageServer,
) -> None:
    body = {"error": {"message": "the database is unreachable", "type": "server_error"}}
    other_server.routes[f"/v1/videos/{SOME_VIDEO}"] = Route(
        status=503,
        headers={"Content-Type": "application/json"},
        body=lambda: iter([json.dumps(body).encode()]),
    )
    url = other_server.url("")
    outcome = run_remote(url, WELL_FORMED_UNKNOWN_KEY, "jobs", "show", SOME_VIDEO)
    one_line(outcome, 1, f"{url} failed (503): the database is unreachable")


# -- wrong key, missing settings -------------------------------------------------------------------


@pytest.mark.parametrize("args", COMMANDS)
def test_an_unknown_key_is_one_line_for_every_command(
    server: LiveServer, args: tuple[str, ...], tmp_path: Path
) -> None:
    outcome = run_remote(server, WELL_FORMED_UNKNOWN_KEY, *filled(args, tmp_path))
    one_line(outcome, 2, "refused the API key: invalid or revoked API key", "REELFORGE_API_KEY")
    assert files_in(tmp_path) == []


def test_a_malformed_key_is_one_line(server: LiveServer) -> None:
    outcome = run_remote(server, "sk-not-ours", "jobs", "list")
    one_line(outcome, 2, "refused the API key: Invalid API Key format")


def test_a_revoked_key_is_one_line(server: LiveServer) -> None:
    token = new_key(server, "soon revoked")
    assert run_remote(server, token, "jobs", "list").code == 0
    server.runtime.keys.revoke(token)

    def refused() -> Outcome | None:  # the server's key cache forgets it within a second
        outcome = run_remote(server, token, "jobs", "list")
        return outcome if outcome.code != 0 else None

    outcome = wait_for(refused, timeout=30)
    assert outcome is not None
    one_line(outcome, 2, "invalid or revoked API key")


def test_a_key_with_spaces_inside_is_refused_before_any_request(server: LiveServer) -> None:
    outcome = run_remote(server, "rf_abc def", "jobs", "list")
    one_line(outcome, 2, "the API key is empty or has characters no key has")


@pytest.mark.parametrize("args", COMMANDS[:-1])
def test_no_server_or_no_key_is_one_line(
    server: LiveServer, args: tuple[str, ...], tmp_path: Path
) -> None:
    no_server = run_main(*filled(args, tmp_path), env={"REELFORGE_API_KEY": server.token})
    one_line(no_server, 2, "no server given; pass --server URL or set REELFORGE_URL")
    no_key = run_main(*filled(args, tmp_path), env={"REELFORGE_URL": server.base_url})
    one_line(no_key, 2, "no API key given; pass --api-key or set REELFORGE_API_KEY")


def test_options_stand_in_for_the_environment(server: LiveServer) -> None:
    outcome = run_main(
        "jobs",
        "list",
        "--json",
        "--server",
        server.base_url + "/v1/",  # the openai SDK's base URL works too
        "--api-key",
        server.token,
    )
    assert outcome.code == 0, outcome.stderr
    assert json.loads(outcome.stdout)["object"] == "list"
