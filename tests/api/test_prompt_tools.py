"""``POST /v1/prompt/guidance`` and ``POST /v1/prompt/check`` (the create's admission checks as
a dry run): on the wire, in OpenAI's error shape, and leaving nothing behind. Workers are off:
nothing here should ever queue a job."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx2
import pytest

from reelforge.domain.limits import MAX_PROMPT_CHARS
from reelforge.services.prompt_guide import ELEMENTS, guide
from tests.support.apps import InProcessApp, running_app

GUIDANCE = "/v1/prompt/guidance"
CHECK = "/v1/prompt/check"
REFUSED_PROMPT = "a murder scene in a dark alley"


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[InProcessApp]:
    data_dir = tmp_path_factory.mktemp("prompt-tools") / "data"
    with running_app(data_dir, embedded_workers=False) as served:
        yield served


@pytest.fixture
def nothing_created(app: InProcessApp) -> Iterator[None]:
    jobs, files = app.job_count(), app.blob_count()
    yield
    assert (app.job_count(), app.blob_count()) == (jobs, files)


def error_of(response: httpx2.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error"} and set(body["error"]) == {"message", "type", "param", "code"}
    return dict(body["error"])


def refusals(app: InProcessApp) -> float:
    with app.anonymous() as http:
        text = http.get("/metrics").text
    lines = [line for line in text.splitlines() if line.startswith("reelforge_policy_refusals")]
    return sum(float(line.rsplit(" ", 1)[1]) for line in lines if "_created" not in line)


def test_guidance_says_what_the_prompt_names_and_what_to_add(app: InProcessApp) -> None:
    prompt = "Close-up of a cat sleeping on a sofa"
    with app.client() as http:
        body = http.post(GUIDANCE, json={"prompt": prompt}).json()
    expected = guide(prompt)
    assert body["object"] == "prompt.guidance"
    assert body["named"] == ["shot_type", "subject", "action", "setting"]
    assert body["missing"] == ["lighting"] == list(expected.missing)
    assert [e["element"] for e in body["elements"]] == list(ELEMENTS)
    lighting = body["elements"][-1]
    assert lighting["label"] == "Lighting" and not lighting["present"]
    assert lighting["suggestion"] == expected.report("lighting").suggestion
    assert body["elements"][0]["found"] == ["close up"]
    assert body["elements"][0]["suggestion"] is None
    assert "golden hour" in body["example"]


def test_guidance_needs_a_key_and_a_prompt_within_the_limit(app: InProcessApp) -> None:
    with app.anonymous() as http:
        assert error_of(http.post(GUIDANCE, json={"prompt": "a cat"}), 401)["code"]
    with app.client() as http:
        assert http.post(GUIDANCE, json={"prompt": ""}).json()["named"] == []
        too_long = http.post(GUIDANCE, json={"prompt": "a" * (MAX_PROMPT_CHARS + 1)})
        assert error_of(too_long, 400)["param"] == "prompt"
        assert error_of(http.post(GUIDANCE, json={}), 400)["message"] == "prompt is required"


@pytest.mark.usefixtures("nothing_created")
def test_check_passes_a_good_request_without_creating_anything(app: InProcessApp) -> None:
    body = {"prompt": "a paper boat on a pond", "size": "1280x720", "seconds": "8", "seed": 7}
    with app.client() as http:
        answer = http.post(CHECK, json=body)
    assert answer.status_code == 200, answer.text
    assert answer.json() == {
        "object": "video.check",
        "ok": True,
        "model": "sora-2",
        "size": "1280x720",
        "seconds": "8",
    }


@pytest.mark.usefixtures("nothing_created")
def test_check_refuses_what_create_refuses_with_the_same_error(app: InProcessApp) -> None:
    before = refusals(app)
    body = {"prompt": REFUSED_PROMPT, "size": "1280x720"}
    with app.client() as http:
        checked = error_of(http.post(CHECK, json=body), 400)
        assert refusals(app) == before, "a dry run is not a refusal"
        created = error_of(http.post("/v1/videos", json=body), 400)
    assert refusals(app) == before + 1
    assert checked == created
    assert checked["code"] == "moderation_blocked"
    assert "Refused by the content policy: prompts may not depict violence" in checked["message"]


@pytest.mark.usefixtures("nothing_created")
@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({"prompt": "a cat", "size": "1024x1792"}, "size"),
        ({"prompt": "a cat", "seconds": "5"}, "seconds"),
        ({"prompt": "   "}, "prompt"),
        ({"prompt": "a cat", "seed": -1}, "seed"),
        ({"size": "1280x720"}, "prompt"),
    ],
)
def test_check_answers_invalid_requests_as_create_does(
    app: InProcessApp, body: dict[str, Any], param: str
) -> None:
    with app.client() as http:
        checked = error_of(http.post(CHECK, json=body), 400)
        created = error_of(http.post("/v1/videos", json=body), 400)
    assert checked == created
    assert checked["param"] == param


@pytest.mark.usefixtures("nothing_created")
def test_check_applies_the_keys_model_allowlist(app: InProcessApp) -> None:
    token = app.runtime.keys.create("sora-2 only", {"allowed_models": ["sora-2"]}).token
    with app.client(token) as http:
        assert http.post(CHECK, json={"prompt": "a cat", "model": "sora-2"}).status_code == 200
        refused = error_of(http.post(CHECK, json={"prompt": "a cat", "model": "sora-2-pro"}), 403)
    assert refused["code"] == "model_not_allowed"
    with app.anonymous() as http:
        assert http.post(CHECK, json={"prompt": "a cat"}).status_code == 401
