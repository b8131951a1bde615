"""``seed`` on ``POST /v1/videos`` (a ReelForge extension, JSON and multipart): the job is
made with it; a seed of the wrong type or out of range is a 400 that names it; without one the
server draws a seed; the schema declares it on both bodies."""

from __future__ import annotations

from typing import Any

import pytest

from reelforge.api.mapping import job_id_from_video_id
from reelforge.domain.limits import MAX_SEED
from tests.support.apps import InProcessApp
from tests.support.image_cases import make_image

VIDEOS = "/v1/videos"


def seed_of(app: InProcessApp, video: dict[str, Any]) -> int:
    job_id = job_id_from_video_id(video["id"])
    assert job_id is not None
    return app.runtime.store.get_job(job_id, app.key_id).spec.seed


def test_a_json_seed_makes_the_job(api_app: InProcessApp) -> None:
    with api_app.client() as http:
        for seed in (0, 7, MAX_SEED, 9.0):
            created = http.post(VIDEOS, json={"prompt": "a kite", "seed": seed})
            assert created.status_code == 200, created.text
            assert seed_of(api_app, created.json()) == seed


def test_a_multipart_seed_makes_the_job(api_app: InProcessApp) -> None:
    image = make_image("PNG", 720, 1280)
    with api_app.client() as http:
        created = http.post(
            VIDEOS,
            data={"prompt": "a kite", "seed": "4242"},
            files={"input_reference": ("first.png", image, "image/png")},
        )
    assert created.status_code == 200, created.text
    assert seed_of(api_app, created.json()) == 4242


def test_without_a_seed_one_is_drawn(api_app: InProcessApp) -> None:
    with api_app.client() as http:
        created = http.post(VIDEOS, json={"prompt": "a kite"})
    assert 0 <= seed_of(api_app, created.json()) <= MAX_SEED


@pytest.mark.parametrize("seed", [-1, MAX_SEED + 1, "42", 4.5, True])
def test_a_bad_json_seed_is_a_400_that_names_it(api_app: InProcessApp, seed: object) -> None:
    with api_app.client() as http:
        refused = http.post(VIDEOS, json={"prompt": "a kite", "seed": seed})
    assert refused.status_code == 400, refused.text
    assert refused.json()["error"]["param"] == "seed"


@pytest.mark.parametrize("seed", ["-1", "abc", "", "4.5", "4.", str(MAX_SEED + 1)])
def test_a_bad_multipart_seed_is_a_400_that_names_it(api_app: InProcessApp, seed: str) -> None:
    with api_app.client() as http:
        fields = {"prompt": (None, "a kite"), "seed": (None, seed)}  # multipart, no file
        refused = http.post(VIDEOS, files=fields)
    assert refused.status_code == 400, refused.text
    assert refused.json()["error"]["param"] == "seed"


def test_the_schema_declares_the_seed_on_both_bodies(api_app: InProcessApp) -> None:
    with api_app.anonymous() as http:
        document = http.get("/openapi.json").json()
    body = document["paths"][VIDEOS]["post"]["requestBody"]["content"]
    multipart = body["multipart/form-data"]["schema"]["properties"]["seed"]
    json_schema = document["components"]["schemas"]["VideoCreateRequest"]["properties"]["seed"]
    assert multipart["type"] == "integer" and multipart["maximum"] == MAX_SEED
    assert {"type": "integer", "minimum": 0, "maximum": MAX_SEED} in json_schema["anyOf"]
