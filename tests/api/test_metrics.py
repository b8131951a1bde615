"""/metrics: Prometheus text with refusals by category and jobs by status, no key needed."""

from __future__ import annotations

import re

from tests.support.apps import InProcessApp


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
