"""Unexpected errors: the surface's 500 body, and the traceback logged off the event loop."""

from __future__ import annotations

import logging
import threading

import pytest
from fastapi import FastAPI
from starlette.testclient import TestClient

from reelforge.api.errors import install_error_handlers


def failing_app(loop_threads: list[int]) -> FastAPI:
    app = FastAPI()
    install_error_handlers(app)

    async def boom() -> None:
        loop_threads.append(threading.get_ident())  # an async route runs on the loop
        raise RuntimeError("database went away")

    app.add_api_route("/v1/videos/boom", boom)
    app.add_api_route("/vendors/openai/v1/sora/generation/boom", boom)
    return app


@pytest.mark.parametrize(
    ("path", "shape"),
    [
        ("/v1/videos/boom", "openai"),
        ("/vendors/openai/v1/sora/generation/boom", "seed"),
    ],
)
def test_an_unexpected_error_is_a_500_in_the_surface_shape_logged_off_the_loop(
    path: str, shape: str, caplog: pytest.LogCaptureFixture
) -> None:
    loop_threads: list[int] = []
    # raise_server_exceptions: the error must be answered, not re-raised to the server (which
    # would log the traceback again, on the loop).
    app = failing_app(loop_threads)
    with (
        TestClient(app, raise_server_exceptions=True) as client,
        caplog.at_level(logging.ERROR, logger="reelforge.api.errors"),
    ):
        response = client.get(path)
    assert response.status_code == 500
    body = response.json()
    if shape == "openai":
        assert body["error"]["type"] == "server_error"
        assert "unexpected error" in body["error"]["message"]
    else:
        assert (body["status"], body["error_code"], body["instance"]) == (500, 5000, path)
    [record] = [r for r in caplog.records if r.getMessage().startswith("unhandled error")]
    assert record.exc_info is not None and "database went away" in str(record.exc_info[1])
    assert loop_threads and record.thread != loop_threads[0], "the traceback was logged on the loop"
