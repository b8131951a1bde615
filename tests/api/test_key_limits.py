"""Per-key limits on the wire: each refusal in its surface's error shape, with ``Retry-After``.

OpenAI surface: ``429 {"error": {"type": "rate_limit_error" | "insufficient_quota", "code":
"rate_limit_exceeded" | "insufficient_quota", ...}}``; seed surface: ``429 {"error_code":
4029, ...}``. Both send ``Retry-After``, ``retry-after-ms``, ``x-reelforge-limit`` (which limit)
and ``x-should-retry`` (false when the wait is longer than a client would sit out). A model
outside the key's allowlist is 403; an expired key 401. Workers are off (jobs stay queued) and
the clock is fake, so windows and resets are exact.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import httpx2
import pytest

from tests.support.apps import InProcessApp, running_app
from tests.support.clock import FakeClock

SEED = "/vendors/openai/v1/sora/generation"
SEED_PRO = "/vendors/openai/v1/sora-2-pro/generation"
START = datetime(2026, 12, 31, 23, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def clock() -> FakeClock:
    return FakeClock(START)


@pytest.fixture(scope="module")
def app(
    tmp_path_factory: pytest.TempPathFactory, api_database_url: str | None, clock: FakeClock
) -> Iterator[InProcessApp]:
    data_dir = tmp_path_factory.mktemp("limits") / "data"
    with running_app(
        data_dir, database_url=api_database_url, embedded_workers=False, clock=clock
    ) as app:
        yield app


def client(app: InProcessApp, **settings: Any) -> httpx2.Client:
    """A client with a new key that has ``settings``."""
    return app.client(app.runtime.keys.create("limited", settings).token)


def openai_create(http: httpx2.Client, seconds: str = "4", **body: Any) -> httpx2.Response:
    return http.post("/v1/videos", json={"prompt": "a paper boat", "seconds": seconds, **body})


def seed_create(http: httpx2.Client, seconds: str = "4", path: str = SEED) -> httpx2.Response:
    return http.post(path, json={"prompt": "a paper boat", "seconds": seconds})


def test_rate_limit_on_the_openai_surface(app: InProcessApp, clock: FakeClock) -> None:
    with client(app, rpm=2) as http:
        assert [openai_create(http).status_code for _ in range(2)] == [200, 200]
        refused = openai_create(http)
        assert refused.status_code == 429
        error = refused.json()["error"]
        assert error["type"] == "rate_limit_error"
        assert error["code"] == "rate_limit_exceeded"
        assert "2 video creates per minute (rpm = 2)" in error["message"]
        assert refused.headers["retry-after"] == "30"
        assert refused.headers["retry-after-ms"] == "30000"
        assert refused.headers["x-reelforge-limit"] == "rpm"
        assert refused.headers["x-should-retry"] == "true"
        clock.advance(30)
        assert openai_create(http).status_code == 200


def test_the_rate_limit_counts_both_surfaces_together(app: InProcessApp) -> None:
    with client(app, rpm=2) as http:
        assert openai_create(http).status_code == 200
        assert seed_create(http).status_code == 202
        refused = seed_create(http)
        assert refused.status_code == 429
        body = refused.json()
        assert body["error_code"] == 4029
        assert body["title"] == "Too Many Requests"
        assert "rpm = 2" in body["detail"]
        assert refused.headers["retry-after"] == "30"


def test_queue_cap_on_both_surfaces(app: InProcessApp) -> None:
    with client(app, max_queued=1) as http:
        first = openai_create(http)
        assert first.status_code == 200
        for refused in (openai_create(http), seed_create(http, path=SEED_PRO)):
            assert refused.status_code == 429, refused.text
            assert refused.headers["x-reelforge-limit"] == "max_queued"
            assert refused.headers["retry-after"] == "10"
        assert openai_create(http).json()["error"]["code"] == "rate_limit_exceeded"
        assert http.post(f"/v1/videos/{first.json()['id']}/cancel").status_code == 200
        assert seed_create(http).status_code == 202


def test_daily_budget_on_both_surfaces(app: InProcessApp, clock: FakeClock) -> None:
    with client(app, daily_video_seconds=8) as http:
        assert openai_create(http, "8").status_code == 200
        refused = openai_create(http)
        assert refused.status_code == 429
        error = refused.json()["error"]
        assert (error["type"], error["code"]) == ("insufficient_quota", "insufficient_quota")
        assert "8 video seconds (daily_video_seconds = 8)" in error["message"]
        # The UTC day ends when the fake clock's next whole day starts.
        midnight = datetime.combine(clock().date(), datetime.min.time(), UTC)
        wait = 86400 - (clock() - midnight).total_seconds()
        assert refused.headers["retry-after"] == str(int(wait))
        assert refused.headers["x-should-retry"] == "false"
        seed = seed_create(http)
        assert seed.status_code == 429
        assert seed.json()["title"] == "Quota Exceeded"
        assert seed.json()["error_code"] == 4029


def test_a_video_longer_than_the_budget_says_so(app: InProcessApp) -> None:
    with client(app, daily_video_seconds=4) as http:
        refused = openai_create(http, "12")
        assert refused.status_code == 429
        assert "longer than this API key's whole daily budget" in refused.json()["error"]["message"]
        assert refused.headers["x-should-retry"] == "false"


def test_models_outside_the_allowlist_are_forbidden(app: InProcessApp) -> None:
    with client(app, allowed_models=("sora-2",)) as http:
        assert openai_create(http, model="sora-2").status_code == 200
        refused = openai_create(http, model="sora-2-pro")
        assert refused.status_code == 403
        error = refused.json()["error"]
        assert error["type"] == "permission_error"
        assert (error["code"], error["param"]) == ("model_not_allowed", "model")
        assert "may use: sora-2" in error["message"]
        seed = seed_create(http, path=SEED_PRO)  # the pro endpoint means sora-2-pro
        assert seed.status_code == 403
        assert seed.json()["error_code"] == 1003


def test_an_expired_key_is_refused_with_its_expiry(app: InProcessApp, clock: FakeClock) -> None:
    token = app.runtime.keys.create("short-lived", {"expires_at": clock.advance(0)}).token
    clock.advance(1)
    with app.client(token) as http:
        for response in (http.get("/v1/videos"), seed_create(http)):
            assert response.status_code == 401
            assert response.headers["www-authenticate"] == "Bearer"
        assert "this API key expired at" in http.get("/v1/videos").json()["error"]["message"]


def test_reads_are_not_rate_limited(app: InProcessApp) -> None:
    with client(app, rpm=1) as http:
        video = openai_create(http).json()
        for _ in range(5):
            assert http.get(f"/v1/videos/{video['id']}").status_code == 200
            assert http.get("/v1/videos").status_code == 200


def test_usage_reports_each_limit_and_what_is_used(app: InProcessApp, clock: FakeClock) -> None:
    settings = {"rpm": 10, "max_queued": 5, "daily_video_seconds": 60, "allowed_models": ["sora-2"]}
    with client(app, **settings) as http:
        assert openai_create(http, "8").status_code == 200
        assert openai_create(http, "4").status_code == 200
        limits = http.get("/v1/usage").json()["limits"]
    assert limits["rpm"] == {"limit": 10, "used": 2, "remaining": 8, "resets_at": None}
    assert limits["max_queued"] == {"limit": 5, "used": 2, "remaining": 3, "resets_at": None}
    assert limits["max_running"]["limit"] is None
    daily = limits["daily_video_seconds"]
    assert (daily["limit"], daily["used"], daily["remaining"]) == (60, 12, 48)
    midnight = datetime.combine(clock().date(), datetime.min.time(), UTC).timestamp() + 86400
    assert daily["resets_at"] == int(midnight)
    assert limits["monthly_video_seconds"]["limit"] is None
    assert limits["monthly_video_seconds"]["used"] == 12  # used is shown even without a limit
    assert limits["models"] == ["sora-2"]
    assert limits["expires_at"] is None
