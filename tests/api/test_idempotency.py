"""Idempotency-Key with Stripe's semantics, and dedupe of the openai SDK's silent retries."""

from __future__ import annotations

import threading
import uuid

import httpx2
import pytest

from tests.support.apps import InProcessApp
from tests.support.image_cases import Route, make_image
from tests.support.wait import wait_for

SEED = "/vendors/openai/v1/sora/generation"
OPENAI = "/v1/videos"
BODIES = {SEED: {"prompt": "idempotent", "seconds": "4"}, OPENAI: {"prompt": "idempotent"}}


def created_id(response: httpx2.Response) -> str:
    body = response.json()
    return str(body["task_info"]["id"] if "task_info" in body else body["id"])


@pytest.mark.parametrize("path", [SEED, OPENAI])
def test_same_key_replays_the_first_response(api_app: InProcessApp, path: str) -> None:
    headers = {"Idempotency-Key": str(uuid.uuid4())}
    before = api_app.job_count()
    with api_app.client() as http:
        first = http.post(path, json=BODIES[path], headers=headers)
        second = http.post(path, json=BODIES[path], headers=headers)
    assert first.status_code == second.status_code and first.status_code in (200, 202)
    assert second.content == first.content
    assert second.headers["idempotent-replayed"] == "true"
    assert "idempotent-replayed" not in first.headers
    assert api_app.job_count() == before + 1


@pytest.mark.parametrize("path", [SEED, OPENAI])
def test_same_key_other_body_is_422(api_app: InProcessApp, path: str) -> None:
    headers = {"Idempotency-Key": str(uuid.uuid4())}
    with api_app.client() as http:
        http.post(path, json=BODIES[path], headers=headers)
        before = api_app.job_count()
        other = http.post(path, json={**BODIES[path], "prompt": "another"}, headers=headers)
    assert other.status_code == 422
    assert "different request body" in other.text
    assert api_app.job_count() == before


def test_keys_are_scoped_per_api_key(api_app: InProcessApp) -> None:
    headers = {"Idempotency-Key": "shared-" + uuid.uuid4().hex}
    with api_app.client() as mine, api_app.client(api_app.other_token) as theirs:
        a = mine.post(OPENAI, json=BODIES[OPENAI], headers=headers)
        b = theirs.post(OPENAI, json=BODIES[OPENAI], headers=headers)
    assert created_id(a) != created_id(b)
    assert "idempotent-replayed" not in b.headers


def test_a_failed_request_does_not_burn_the_key(api_app: InProcessApp) -> None:
    headers = {"Idempotency-Key": str(uuid.uuid4())}
    with api_app.client() as http:
        bad = http.post(OPENAI, json={"prompt": "x", "size": "1792x1024"}, headers=headers)
        assert bad.status_code == 400
        good = http.post(OPENAI, json={"prompt": "x"}, headers=headers)
    assert good.status_code == 200 and "idempotent-replayed" not in good.headers


def test_in_flight_key_is_409_then_replays(api_app: InProcessApp) -> None:
    png = make_image("PNG", 720, 1280)
    half = len(png) // 2
    api_app.images.routes["/slow.png"] = Route(
        headers={"Content-Type": "image/png"},
        body=lambda: iter([png[:half], png[half:]]),
        delay=1.0,
    )
    body = {
        "prompt": "slow image",
        "input_reference": {"image_url": api_app.images.url("/slow.png")},
    }
    headers = {"Idempotency-Key": str(uuid.uuid4())}
    results: list[httpx2.Response] = []

    def first() -> None:
        with api_app.client() as http:
            results.append(http.post(OPENAI, json=body, headers=headers))

    thread = threading.Thread(target=first)
    seen_before = len(api_app.images.seen)
    thread.start()
    # The key is claimed before the image is fetched: once the image server has seen the
    # fetch, the first request holds the key, and the slow image keeps it held for ~2 s more.
    wait_for(lambda: len(api_app.images.seen) > seen_before, timeout=10, interval=0.01)
    with api_app.client() as http:
        during = http.post(OPENAI, json=body, headers=headers)
        thread.join(timeout=30)
        after = http.post(OPENAI, json=body, headers=headers)
    assert during.status_code == 409, during.text
    assert during.json()["error"]["code"] == "idempotency_key_in_use"
    assert "retry-after" in during.headers
    assert results[0].status_code == 200, results[0].text
    assert after.content == results[0].content


def test_sdk_retry_count_dedupes_only_retries(api_app: InProcessApp) -> None:
    token = api_app.keys.create("sdk retries").token
    with api_app.client(token) as http:
        body = {"prompt": "sdk style", "seconds": "4"}
        first = http.post(
            OPENAI, data=body, files={"unused": ("", b"")}, headers={"x-stainless-retry-count": "0"}
        )
        retry = http.post(
            OPENAI, data=body, files={"unused": ("", b"")}, headers={"x-stainless-retry-count": "1"}
        )
        fresh = http.post(
            OPENAI, data=body, files={"unused": ("", b"")}, headers={"x-stainless-retry-count": "0"}
        )
        listed = [v["id"] for v in http.get(OPENAI).json()["data"]]
    assert created_id(retry) == created_id(first)
    assert created_id(fresh) != created_id(first)
    assert sorted(listed) == sorted({created_id(first), created_id(fresh)})
