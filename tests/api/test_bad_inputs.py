"""Bad inputs on both surfaces: the right status, the surface's error shape, a message that
helps, and nothing queued or stored (job rows and blob files unchanged)."""

from __future__ import annotations

import io
import uuid
from collections.abc import Iterator
from typing import Any

import httpx2
import numpy as np
import pytest
import skimage.data
from PIL import Image

from reelforge.api.auth import AUTH_CACHE_SECONDS
from tests.support.apps import InProcessApp
from tests.support.image_cases import BAD_IMAGE_CASES, BadImageCase, data_url, make_image

SEED = "/vendors/openai/v1/sora/generation"
OPENAI = "/v1/videos"
SEED_OK = {"prompt": "a calm lake", "model": "sora-2", "seconds": "4", "size": "1280x720"}
OPENAI_OK = {"prompt": "a calm lake", "model": "sora-2", "seconds": "4", "size": "1280x720"}


def without(body: dict[str, Any], field: str) -> dict[str, Any]:
    return {k: v for k, v in body.items() if k != field}


def assert_seed_error(response: httpx2.Response, status: int, fragment: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"status", "title", "detail", "instance", "error_code"}
    assert body["status"] == status and isinstance(body["error_code"], int)
    assert fragment in body["detail"], body["detail"]
    return dict(body)


def assert_openai_error(response: httpx2.Response, status: int, fragment: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error"}
    assert set(body["error"]) == {"message", "type", "param", "code"}
    assert fragment in body["error"]["message"], body["error"]["message"]
    return dict(body["error"])


@pytest.fixture
def unchanged(api_app: InProcessApp) -> Iterator[None]:
    """The request under test must leave no job row and no file behind."""
    jobs, files = api_app.job_count(), api_app.blob_count()
    yield
    assert api_app.job_count() == jobs
    assert api_app.blob_count() == files


SEED_CASES = [
    ("prompt_missing", without(SEED_OK, "prompt"), "prompt is required"),
    ("prompt_empty", {**SEED_OK, "prompt": ""}, "prompt: String should have at least 1"),
    ("prompt_blank", {**SEED_OK, "prompt": "   "}, "prompt is empty"),
    ("prompt_2001", {**SEED_OK, "prompt": "x" * 2001}, "at most 2000 characters"),
    ("seconds_integer", {**SEED_OK, "seconds": 8}, "seconds: Input should be '4', '8' or '12'"),
    ("seconds_5", {**SEED_OK, "seconds": "5"}, "(got '5')"),
    ("size_1920x1080", {**SEED_OK, "size": "1920x1080"}, "size: Input should be"),
    ("model_unknown", {**SEED_OK, "model": "sora-3"}, "model: Input should be 'sora-2'"),
    (
        "policy_prompt",
        {**SEED_OK, "prompt": "a murder scene in a dark alley"},
        "blocked by our moderation system (category: violence)",
    ),
]


@pytest.mark.parametrize(("name", "body", "fragment"), SEED_CASES, ids=[c[0] for c in SEED_CASES])
@pytest.mark.usefixtures("unchanged")
def test_seed_rejects(api_app: InProcessApp, name: str, body: Any, fragment: str) -> None:
    with api_app.client() as http:
        assert_seed_error(http.post(SEED, json=body), 400, fragment)


OPENAI_CASES = [
    ("prompt_missing", without(OPENAI_OK, "prompt"), "prompt is required"),
    ("prompt_empty", {**OPENAI_OK, "prompt": ""}, "at least 1 character"),
    ("prompt_32001", {**OPENAI_OK, "prompt": "x" * 32001}, "at most 32000 characters"),
    ("seconds_integer", {**OPENAI_OK, "seconds": 4}, "seconds: Input should be '4', '8' or '12'"),
    ("seconds_5", {**OPENAI_OK, "seconds": "5"}, "(got '5')"),
    ("size_1920x1080", {**OPENAI_OK, "size": "1920x1080"}, "size: Input should be"),
    ("size_unsupported_here", {**OPENAI_OK, "size": "1792x1024"}, "not supported; use one of"),
    ("model_unknown", {**OPENAI_OK, "model": "sora-3"}, "model: Input should be"),
    ("file_id", {**OPENAI_OK, "input_reference": {"file_id": "file_1"}}, "file_id is not"),
    (
        "policy_prompt",
        {**OPENAI_OK, "prompt": "gory battlefield with blood"},
        "blocked by our moderation system (category: violence/graphic)",
    ),
]


# Multipart carries only strings and files, so an integer or a nested object is JSON-only.
OPENAI_FORM_CASES = [(*case, "json") for case in OPENAI_CASES] + [
    (*case, "multipart") for case in OPENAI_CASES if case[0] not in ("seconds_integer", "file_id")
]


@pytest.mark.parametrize(
    ("name", "body", "fragment", "form"),
    OPENAI_FORM_CASES,
    ids=[f"{c[0]}-{c[3]}" for c in OPENAI_FORM_CASES],
)
@pytest.mark.usefixtures("unchanged")
def test_openai_rejects(
    api_app: InProcessApp, name: str, body: dict[str, Any], fragment: str, form: str
) -> None:
    with api_app.client() as http:
        if form == "json":
            response = http.post(OPENAI, json=body)
        else:
            response = http.post(OPENAI, data=body, files={"unused": ("", b"")})
    error = assert_openai_error(response, 400, fragment)
    if name == "policy_prompt":
        assert error["code"] == "moderation_blocked"


UPLOAD_CASES = [
    ("gif", make_image("GIF", 1280, 720), "image is a GIF"),
    ("bmp", make_image("BMP", 1280, 720), "image is a BMP"),
    ("wrong_size", make_image("PNG", 640, 360), "size 1280x720 needs a 1280x720 image"),
    ("not_an_image", b"hello, I am text", "JPEG, PNG or WebP"),
    ("over_10_mb", b"\x89PNG\r\n\x1a\n" + bytes(10 * 1024 * 1024), "larger than 10 MB"),
]


@pytest.mark.parametrize(
    ("name", "data", "fragment"), UPLOAD_CASES, ids=[c[0] for c in UPLOAD_CASES]
)
@pytest.mark.usefixtures("unchanged")
def test_openai_rejects_bad_uploads(
    api_app: InProcessApp, name: str, data: bytes, fragment: str
) -> None:
    files = {"input_reference": ("frame.png", data, "image/png")}
    with api_app.client() as http:
        response = http.post(OPENAI, data=OPENAI_OK, files=files)
    error = assert_openai_error(response, 400, fragment)
    assert error["param"] == "input_reference"


def face_image() -> bytes:
    canvas = Image.new("RGB", (1280, 720), (30, 30, 30))
    canvas.paste(Image.fromarray(np.asarray(skimage.data.astronaut())), (384, 104))
    buffer = io.BytesIO()
    canvas.save(buffer, "PNG")
    return buffer.getvalue()


@pytest.mark.usefixtures("unchanged")
def test_face_in_first_frame_is_refused_on_both_surfaces(api_app: InProcessApp) -> None:
    image = data_url("image/png", face_image())
    with api_app.client() as http:
        seed = http.post(SEED, json={**SEED_OK, "image": image})
        files = {"input_reference": ("face.png", face_image(), "image/png")}
        openai = http.post(OPENAI, data=OPENAI_OK, files=files)
    assert_seed_error(seed, 400, "(category: face)")
    assert assert_openai_error(openai, 400, "(category: face)")["code"] == "moderation_blocked"


def _image_expectation(case: BadImageCase, value: str) -> str:
    if not value.startswith(("http://", "https://", "data:")):
        return "must be an http(s) URL or a data URL"  # refused by the schema itself
    return case.message(1280, 720)


@pytest.mark.parametrize("case", BAD_IMAGE_CASES, ids=[c.name for c in BAD_IMAGE_CASES])
@pytest.mark.usefixtures("unchanged")
def test_bad_images_on_both_surfaces(api_app: InProcessApp, case: BadImageCase) -> None:
    value = case.build(api_app.images, 1280, 720)
    fragment = _image_expectation(case, value)
    with api_app.client() as http:
        seed = http.post(SEED, json={**SEED_OK, "image": value})
        assert_seed_error(seed, 400, fragment)
        value = case.build(api_app.images, 1280, 720)  # some routes serve once
        body = {**OPENAI_OK, "input_reference": {"image_url": value}}
        error = assert_openai_error(http.post(OPENAI, json=body), 400, fragment)
    assert error["param"] in ("input_reference", "input_reference.image_url")


AUTH_CASES = [
    ("missing", None, "missing API key"),
    ("malformed", "Bearer sk-not-ours", "Invalid API Key format"),
    ("unknown", "Bearer rf_0123456789ab_" + "A" * 43, "invalid or revoked API key"),
    ("not_bearer", "Basic dXNlcjpwYXNz", "missing API key"),
]


@pytest.mark.parametrize(("name", "header", "fragment"), AUTH_CASES, ids=[c[0] for c in AUTH_CASES])
@pytest.mark.usefixtures("unchanged")
def test_bad_keys_get_401_on_both_surfaces(
    api_app: InProcessApp, name: str, header: str | None, fragment: str
) -> None:
    headers = {"Authorization": header} if header else {}
    with api_app.anonymous(headers) as http:
        seed = http.post(SEED, json=SEED_OK)
        openai = http.post(OPENAI, json=OPENAI_OK)
        listing = http.get(OPENAI)
    assert_seed_error(seed, 401, fragment)
    assert seed.headers["www-authenticate"] == "Bearer"
    assert assert_openai_error(openai, 401, fragment)["code"] == "invalid_api_key"
    assert_openai_error(listing, 401, fragment)


@pytest.mark.usefixtures("unchanged")
def test_revoked_key_gets_401_once_the_cache_expires(api_app: InProcessApp) -> None:
    new = api_app.keys.create("soon revoked")
    with api_app.auth_clock() as clock, api_app.client(new.token) as http:
        assert http.get(OPENAI).status_code == 200
        api_app.keys.revoke(new.key.id)
        # Verified keys are cached for AUTH_CACHE_SECONDS; then the revocation holds.
        assert http.get(OPENAI).status_code == 200
        clock.advance(AUTH_CACHE_SECONDS + 0.1)
        assert_openai_error(http.get(OPENAI), 401, "invalid or revoked API key")
        assert_seed_error(http.post(SEED, json=SEED_OK), 401, "invalid or revoked API key")


def test_another_tenants_ids_answer_404(api_app: InProcessApp) -> None:
    with api_app.client() as mine:
        video = mine.post(OPENAI, json=OPENAI_OK).json()
        task = mine.post(SEED, json=SEED_OK).json()["task_info"]
    video_id, task_id = video["id"], task["id"]
    with api_app.client(api_app.other_token) as theirs:
        for response in (
            theirs.get(f"{OPENAI}/{video_id}"),
            theirs.get(f"{OPENAI}/{video_id}/content"),
            theirs.delete(f"{OPENAI}/{video_id}"),
            theirs.post(f"{OPENAI}/{video_id}/remix", json={"prompt": "mine now"}),
        ):
            assert_openai_error(response, 404, "does not exist")
        assert_seed_error(theirs.get(f"{SEED}/{task_id}"), 404, "does not exist")
        assert video_id not in [v["id"] for v in theirs.get(OPENAI).json()["data"]]
    with api_app.client() as mine:  # still there for its owner, on both surfaces
        assert mine.get(f"{OPENAI}/{video_id}").status_code == 200
        assert mine.get(f"{SEED}/{video['id'].removeprefix('video_')}").status_code == 404
        same_job = str(uuid.UUID(video_id.removeprefix("video_")))
        assert mine.get(f"{SEED}/{same_job}").status_code == 200


@pytest.mark.parametrize("task_id", ["123e4567-e89b-12d3-a456-426614174000", "nope", "x" * 300])
def test_unknown_task_is_final_404(api_app: InProcessApp, task_id: str) -> None:
    with api_app.client() as http:
        body = assert_seed_error(http.get(f"{SEED}/{task_id}"), 404, "does not exist")
    assert body["error_code"] == 2005


@pytest.mark.usefixtures("unchanged")
def test_oversized_bodies_are_413_on_both_surfaces(api_app: InProcessApp) -> None:
    huge = {**SEED_OK, "prompt": "x" * (17 * 1024 * 1024)}
    with api_app.client() as http:
        seed = http.post(SEED, json=huge)
        openai = http.post(OPENAI, json=huge)
    assert seed.status_code == 413 and set(seed.json()) >= {"status", "detail", "error_code"}
    assert openai.status_code == 413 and "limit is 16 MB" in openai.json()["error"]["message"]


@pytest.mark.usefixtures("unchanged")
def test_oversized_body_without_length_is_cut_off(api_app: InProcessApp) -> None:
    def chunks() -> Iterator[bytes]:
        for _ in range(20):
            yield b"x" * 1024 * 1024

    with api_app.client() as http:
        headers = {"Content-Type": "application/json"}
        response = http.post(OPENAI, content=chunks(), headers=headers)
    assert_openai_error(response, 413, "over 16 MB")
