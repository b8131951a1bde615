"""/metrics: Prometheus text with refusals by category and jobs by status, no key needed."""

from __future__ import annotations

import re

from tests.support.apps import InProcessApp
from tests.support.wait import wait_for


def sample(text: str, name: str, **labels: str) -> float:
    """The value of one sample in Prometheus text format (0 when absent)."""
    wanted = ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
    for line in text.splitlines():
        match = re.fullmatch(rf"{name}\{{(.*)\}} (\S+)", line)
        if match and ",".join(sorted(match.group(1).split(","))) == wanted:
            return float(match.group(2))
    return 0.0


def scrape(api_app: InProcessApp) -> str:
    with api_app.anonymous() as http:
        response = http.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    return response.text


def test_refusals_and_admissions_are_counted(api_app: InProcessApp) -> None:
    before = scrape(api_app)
    with api_app.client() as http:
        refused = http.post("/v1/videos", json={"prompt": "a portrait of Taylor Swift singing"})
        created = http.post("/v1/videos", json={"prompt": "a paper boat on a pond", "seconds": "4"})
    assert refused.status_code == 400 and created.status_code == 200
    after = scrape(api_app)
    refusals = "reelforge_policy_refusals_total"
    labels = {"input": "prompt", "category": "real_person"}
    assert sample(after, refusals, **labels) == sample(before, refusals, **labels) + 1
    created_total = "reelforge_jobs_created_total"
    assert (
        sample(after, created_total, kind="create")
        == sample(before, created_total, kind="create") + 1
    )
    jobs = sum(
        sample(after, "reelforge_jobs", status=s)
        for s in ("queued", "running", "completed", "failed", "cancelled")
    )
    assert jobs == api_app.job_count()
    assert "Taylor" not in after


def test_http_latency_is_labelled_by_route_template_not_raw_path(api_app: InProcessApp) -> None:
    name = "reelforge_http_request_duration_seconds_count"
    route = {"route": "/v1/videos/{video_id}", "method": "GET", "status": "4xx"}
    unmatched = {"route": "unmatched", "method": "GET", "status": "4xx"}
    before = scrape(api_app)
    with api_app.client() as http:
        for index in range(3):
            assert http.get(f"/v1/videos/video_{index:032x}").status_code == 404
        assert http.get("/nowhere/at/all").status_code == 404
    after = scrape(api_app)
    assert sample(after, name, **route) == sample(before, name, **route) + 3
    assert sample(after, name, **unmatched) == sample(before, name, **unmatched) + 1
    assert "video_0000" not in after and "/nowhere" not in after


def test_embedded_workers_job_histograms_are_on_the_api_metrics(api_app: InProcessApp) -> None:
    with api_app.client() as http:
        created = http.post("/v1/videos", json={"prompt": "a windmill turning", "seconds": "4"})
        assert created.status_code == 200, created.text
        video = created.json()["id"]
        wait_for(lambda: http.get(f"/v1/videos/{video}").json()["status"] == "completed")
    text = scrape(api_app)
    model = created.json()["model"]
    duration = {"engine": "testcard", "model": model, "outcome": "completed"}
    assert sample(text, "reelforge_job_duration_seconds_count", **duration) >= 1
    assert sample(text, "reelforge_queue_wait_seconds_count", model=model) >= 1
    ratio = {"engine": "testcard", "model": model}
    assert sample(text, "reelforge_job_compute_seconds_per_video_second_count", **ratio) >= 1
