"""/metrics: Prometheus text with refusals by category and jobs by status, no key needed."""

from __future__ import annotations

import re

import httpx

from tests.support.live import LiveServer


def sample(text: str, name: str, **labels: str) -> float:
    """The value of one sample in Prometheus text format (0 when absent)."""
    wanted = ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
    for line in text.splitlines():
        match = re.fullmatch(rf"{name}\{{(.*)\}} (\S+)", line)
        if match and ",".join(sorted(match.group(1).split(","))) == wanted:
            return float(match.group(2))
    return 0.0


def scrape(live_server: LiveServer) -> str:
    response = httpx.get(f"{live_server.base_url}/metrics", timeout=30)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    return response.text


def test_refusals_and_admissions_are_counted(live_server: LiveServer) -> None:
    before = scrape(live_server)
    with live_server.client() as http:
        refused = http.post("/v1/videos", json={"prompt": "a portrait of Taylor Swift singing"})
        created = http.post("/v1/videos", json={"prompt": "a paper boat on a pond", "seconds": "4"})
    assert refused.status_code == 400 and created.status_code == 200
    after = scrape(live_server)
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
    assert jobs == live_server.job_count()
    assert "Taylor" not in after
