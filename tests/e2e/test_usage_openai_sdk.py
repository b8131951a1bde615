"""``GET /v1/usage`` and each video's ``usage`` through the official ``openai`` package against
a real server: the caller's own usage only, per day and model, and one-line 400s for bad dates.

Each test makes its own API key, so the usage it reads is only its own whatever ran before."""

from __future__ import annotations

import contextlib
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import openai
import pytest
from openai._types import RequestOptions  # the type of get's options: not re-exported

from tests.support.live import LiveServer

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def new_client(live_server: LiveServer, name: str) -> tuple[openai.OpenAI, str]:
    """A client with a fresh key of its own, and the key's id."""
    created = live_server.keys.create(name)
    client = openai.OpenAI(api_key=created.token, base_url=live_server.base_url + "/v1")
    return client, created.key.id


def usage(client: openai.OpenAI, **params: str) -> dict[str, Any]:
    options: RequestOptions = {"params": params}
    report: dict[str, Any] = client.get("/usage", cast_to=dict, options=options)
    return report


def utc_today() -> str:
    return datetime.now(UTC).date().isoformat()


def test_usage_sums_the_callers_videos_and_each_video_carries_its_own(
    live_server: LiveServer,
) -> None:
    client, key_id = new_client(live_server, "usage report")
    completed = client.videos.create_and_poll(prompt="a red kite over a park", seconds="4")
    assert completed.status == "completed"
    own = completed.usage  # type: ignore[attr-defined]  # a ReelForge extension field
    assert own["video_seconds"] == 4 and own["compute_seconds"] > 0
    assert round(own["compute_seconds"], 3) == own["compute_seconds"]

    cancelled = client.videos.create(prompt="cancel me", seconds="12")
    assert cancelled.usage == {"video_seconds": 0, "compute_seconds": 0.0}  # type: ignore[attr-defined]
    with contextlib.suppress(openai.ConflictError):  # it completed first: counted so below
        client.post(f"/videos/{cancelled.id}/cancel", cast_to=openai.types.Video)
    second = client.videos.poll(cancelled.id)
    videos = [completed, second]

    report = usage(client)
    assert report["object"] == "usage" and report["key_id"] == key_id
    [day] = report["data"]
    assert day["day"] == utc_today() and day["model"] == "sora-2"
    done = [video for video in videos if video.status == "completed"]
    expected = {
        "jobs": 2,
        "completed": len(done),
        "failed": 0,
        "cancelled": 2 - len(done),
        "video_seconds": sum(int(video.seconds) for video in done),
    }
    assert {name: day[name] for name in expected} == expected
    totals = report["totals"]
    assert {name: totals[name] for name in expected} == expected
    compute = sum(video.usage["compute_seconds"] for video in videos)  # type: ignore[attr-defined]
    assert totals["compute_seconds"] == pytest.approx(compute, abs=0.002)
    assert totals["compute_seconds"] == day["compute_seconds"]


def test_a_key_sees_only_its_own_usage(live_server: LiveServer) -> None:
    busy, busy_id = new_client(live_server, "busy key")
    idle, idle_id = new_client(live_server, "idle key")
    busy.videos.create(prompt="a paper boat on a pond", seconds="4")
    assert usage(busy)["totals"]["jobs"] == 1
    report = usage(idle)
    assert report["key_id"] == idle_id != busy_id
    assert report["data"] == []
    assert report["totals"] == {
        "jobs": 0,
        "completed": 0,
        "failed": 0,
        "cancelled": 0,
        "video_seconds": 0,
        "compute_seconds": 0.0,
    }


def test_the_default_range_is_the_last_30_days_and_a_range_filters_days(
    live_server: LiveServer,
) -> None:
    client, _ = new_client(live_server, "ranges")
    client.videos.create(prompt="a lighthouse at dusk", seconds="4")
    before = utc_today()
    report = usage(client)
    after = utc_today()
    assert report["end_date"] in (before, after)  # the same day unless midnight passed
    end = datetime.fromisoformat(report["end_date"]).date()
    assert report["start_date"] == (end - timedelta(days=29)).isoformat()
    assert len(report["data"]) == 1

    past = usage(client, start_date="2020-01-01", end_date="2020-12-31")
    assert (past["start_date"], past["end_date"]) == ("2020-01-01", "2020-12-31")
    assert past["data"] == [] and past["totals"]["jobs"] == 0
    only_start = usage(client, start_date="2020-01-01")
    assert only_start["start_date"] == "2020-01-01" and only_start["totals"]["jobs"] == 1
    only_end = usage(client, end_date="2020-03-01")
    # 30 days ending on 1 March 2020 (a leap year) start on 1 February.
    assert (only_end["start_date"], only_end["end_date"]) == ("2020-02-01", "2020-03-01")


@pytest.mark.parametrize(
    ("params", "param", "fragment"),
    [
        ({"start_date": "2026-13-01"}, "start_date", "'2026-13-01' is not a date; use YYYY-MM-DD"),
        ({"end_date": "2026-02-30"}, "end_date", "'2026-02-30' is not a date"),
        ({"start_date": "20261201"}, "start_date", "'20261201' is not a date"),
        ({"end_date": "yesterday"}, "end_date", "'yesterday' is not a date"),
        (
            {"start_date": "2026-12-02", "end_date": "2026-12-01"},
            "start_date",
            "start_date 2026-12-02 is after end_date 2026-12-01",
        ),
    ],
)
def test_bad_dates_are_a_400_in_the_openai_error_shape(
    live_server: LiveServer, params: dict[str, str], param: str, fragment: str
) -> None:
    client, _ = new_client(live_server, "bad dates")
    with pytest.raises(openai.BadRequestError) as raised:
        usage(client, **params)
    error = raised.value.body
    assert isinstance(error, dict)
    assert error["param"] == param and error["code"] == "invalid_value"
    assert error["type"] == "invalid_request_error"
    assert fragment in error["message"]


def test_usage_needs_a_key_and_is_described_in_openapi(live_server: LiveServer) -> None:
    with live_server.client(token="rf_000000000000_" + "x" * 43) as http:
        assert http.get("/v1/usage").status_code == 401
        schema = http.get("/openapi.json").json()
    operation = schema["paths"]["/v1/usage"]["get"]
    described = {p["name"]: p.get("description") for p in operation["parameters"]}
    assert set(described) == {"start_date", "end_date"} and all(described.values())
    assert set(operation["responses"]) >= {"200", "400", "401"}
    report = schema["components"]["schemas"]["UsageReport"]
    assert {"object", "key_id", "start_date", "end_date", "data", "totals"} <= set(
        report["properties"]
    )
    video = schema["components"]["schemas"]["Video"]["properties"]
    assert "usage" in video


def test_metrics_count_usage_by_key_name(live_server: LiveServer) -> None:
    name = f"metrics {uuid.uuid4().hex[:8]}"
    client, _ = new_client(live_server, name)
    client.videos.create_and_poll(prompt="a windmill in the rain", seconds="4")
    with live_server.client() as http:
        text = http.get("/metrics").text
    labels = f'key="{name}",model="sora-2"'
    assert f"reelforge_usage_video_seconds_total{{{labels}}} 4.0" in text
    assert f'reelforge_usage_jobs_total{{{labels},outcome="completed"}} 1.0' in text
