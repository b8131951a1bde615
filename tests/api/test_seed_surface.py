"""The seed surface in-process: signed download links, defaults, the failed shape and the
sister sora-2-pro endpoint. The curl example runs against a real server in
``tests/e2e/test_curl.py``."""

from __future__ import annotations

import re

import pytest

from tests.support.apps import InProcessApp
from tests.support.wait import wait_for


def test_signed_link_supports_ranges_and_rejects_tampering(
    api_app: InProcessApp, monkeypatch: pytest.MonkeyPatch
) -> None:
    with api_app.client() as http:
        task = http.post(
            "/vendors/openai/v1/sora/generation", json={"prompt": "a lighthouse", "seconds": "4"}
        ).json()["task_info"]
        url = f"/vendors/openai/v1/sora/generation/{task['id']}"
        done = wait_for(
            lambda: (b := http.get(url).json())["task_info"]["status"] == "completed" and b,
            timeout=120,
            interval=0.2,
        )
    link = done["videos"][0]
    assert link.startswith(api_app.base_url + "/files/videos/")
    with api_app.anonymous() as browser:  # no Authorization header, as <video src> fetches it
        part = browser.get(link, headers={"Range": "bytes=0-99"})
        assert part.status_code == 206 and len(part.content) == 100
        assert part.headers["content-type"] == "video/mp4"
        assert part.content[4:8] == b"ftyp"
        forged = browser.get(re.sub(r"signature=[^&]+", "signature=AAAA", link))
        assert forged.status_code == 403 and "signature" in forged.json()["detail"]
        expired = re.sub(r"expires=\d+", "expires=1000", link)
        assert browser.get(expired).status_code == 403
        # The genuine link, once its time has passed, is refused for that reason.
        expires = int(re.findall(r"expires=(\d+)", link)[0])
        monkeypatch.setattr(api_app.context.signer, "clock", lambda: expires + 1.0)
        late = browser.get(link)
        assert late.status_code == 403 and "expired" in late.json()["detail"]


def test_defaults_and_failed_shape(api_app: InProcessApp) -> None:
    with api_app.client() as http:
        response = http.post("/vendors/openai/v1/sora/generation", json={"prompt": "defaults"})
        assert response.status_code == 202
        assert response.json()["task_info"]["status"] == "pending"  # as created, not re-read
        task_id = response.json()["task_info"]["id"]
        job = api_app.runtime.store.get_job(task_id)
        assert (job.spec.size, job.spec.seconds, job.spec.model) == ("1280x720", 8, "sora-2")
        api_app.runtime.store.request_cancel(task_id)
        url = f"/vendors/openai/v1/sora/generation/{task_id}"
        body = wait_for(
            lambda: (b := http.get(url).json())["task_info"]["status"] == "failed" and b,
            timeout=60,
            interval=0.1,
        )
    assert body["task_info"]["status"] == "failed"
    error = body["task_info"]["error"]
    assert isinstance(error["code"], int) and error["title"] and error["detail"]
    assert "videos" not in body


def test_sister_pro_endpoint(api_app: InProcessApp) -> None:
    pro = "/vendors/openai/v1/sora-2-pro/generation"
    with api_app.client() as http:
        created = http.post(pro, json={"prompt": "a pro lighthouse"})
        assert created.status_code == 202, created.text
        task_id = created.json()["task_info"]["id"]
        job = api_app.runtime.store.get_job(task_id)
        assert (job.spec.model, job.spec.seconds, job.spec.size) == ("sora-2-pro", 4, "1280x720")
        assert http.get(f"{pro}/{task_id}").json()["task_info"]["id"] == task_id
        big = http.post(pro, json={"prompt": "wide", "size": "1792x1024"})
        assert big.status_code == 400 and "not supported; use one of" in big.json()["detail"]
        with_model = http.post(pro, json={"prompt": "x", "model": "sora-2"})
        assert with_model.status_code == 202  # unknown fields are ignored, as the gateway does
