"""``X-Request-Id``: taken from the client when sane, made otherwise, returned on every
response (errors included), kept with the job it creates and carried by the worker's log lines
for that job."""

from __future__ import annotations

import logging
import re

import pytest

from reelforge.api.mapping import job_id_from_video_id
from reelforge.api.observability import request_id_from
from tests.support.apps import InProcessApp
from tests.support.wait import wait_for

GENERATED = re.compile(r"^[0-9a-f]{32}$")


@pytest.mark.parametrize(
    ("given", "kept"),
    [
        ("req-42", True),
        ("0f8fad5b-d9cb-469f-a165-70867728950e", True),
        ("trace:abc/def+g=h@x", True),
        ("x" * 64, True),
        ("x" * 65, False),
        ("", False),
        ("has space", False),
        ("new\nline", False),
        ("<script>", False),
        ("é", False),
    ],
)
def test_request_ids_are_sanitised(given: str, kept: bool) -> None:
    chosen = request_id_from(given)
    assert (chosen == given) is kept
    if not kept:
        assert GENERATED.match(chosen)


def test_the_id_comes_back_on_success_and_on_errors(api_app: InProcessApp) -> None:
    with api_app.anonymous({"X-Request-Id": "probe-1"}) as http:
        assert http.get("/healthz").headers["x-request-id"] == "probe-1"
        unauthorized = http.get("/v1/videos")
        missing = http.get("/no/such/route")
    assert unauthorized.status_code == 401 and unauthorized.headers["x-request-id"] == "probe-1"
    assert missing.status_code == 404 and missing.headers["x-request-id"] == "probe-1"
    with api_app.client() as http:
        bad = http.post("/v1/videos", json={"prompt": ""}, headers={"X-Request-Id": "a b"})
        made = http.get("/healthz")
    assert bad.status_code == 400 and GENERATED.match(bad.headers["x-request-id"])
    assert GENERATED.match(made.headers["x-request-id"])
    assert bad.headers["x-request-id"] != made.headers["x-request-id"]


def test_the_job_and_its_worker_log_lines_carry_the_request_id(
    api_app: InProcessApp, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="reelforge.worker")
    with api_app.client() as http:
        created = http.post(
            "/v1/videos",
            json={"prompt": "a red tram in the rain", "seconds": "4"},
            headers={"X-Request-Id": "create-7"},
        )
    assert created.status_code == 200, created.text
    assert created.headers["x-request-id"] == "create-7"
    job_id = job_id_from_video_id(created.json()["id"])
    assert job_id is not None
    store = api_app.runtime.store
    assert store.get_job(job_id).request_id == "create-7"
    wait_for(lambda: store.get_job(job_id).status.is_terminal, timeout=60)

    def job_records() -> list[logging.LogRecord]:
        return [r for r in caplog.records if getattr(r, "job_id", None) == job_id]

    wait_for(lambda: any("completed" in r.getMessage() for r in job_records()), timeout=10)
    lines = job_records()
    assert any("attempt 1 started" in r.getMessage() for r in lines)
    assert {getattr(r, "request_id", None) for r in lines} == {"create-7"}
