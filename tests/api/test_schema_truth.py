"""The OpenAPI schema tells the truth: what it declares valid is accepted, what the server
refuses is declared, and a 405 lists the methods its path really serves.

Regression tests for what schemathesis found (tests/e2e/test_schemathesis.py runs it): an
unknown ``after`` cursor, content of an unfinished video and a remix of one answered 400 to
well-formed requests; dates, blank prompts, webhook URLs, event types, 1024p sizes and
``file_id`` were refused without the schema saying so; ``"yes"`` passed as a boolean; and each
405's ``Allow`` named only one of the path's methods.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import httpx2
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from reelforge.domain.errors import SpecError
from reelforge.domain.limits import ALLOWED_SIZES
from reelforge.notify.urls import WEBHOOK_URL_PATTERN, parse_webhook_url
from reelforge.worker import Worker
from tests.support.apps import InProcessApp, running_app

VIDEOS = "/v1/videos"
ENDPOINTS = "/v1/webhook_endpoints"
SEED = "/vendors/openai/v1/sora/generation"
METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[InProcessApp]:
    """No workers: a video stays queued until a test runs the queue itself."""
    data_dir = tmp_path_factory.mktemp("schema") / "data"
    with running_app(data_dir, embedded_workers=False) as served:
        yield served


@pytest.fixture(scope="module")
def schema(app: InProcessApp) -> dict[str, Any]:
    with app.anonymous() as http:
        document: dict[str, Any] = http.get("/openapi.json").json()
    return document


@pytest.fixture(scope="module")
def completed(app: InProcessApp) -> str:
    """A completed video's id (run before this module queues anything else)."""
    with app.client() as http:
        video = http.post(VIDEOS, json={"prompt": "a lighthouse at dusk"}).json()
    assert Worker(app.runtime).run_until_idle() == 1
    return str(video["id"])


def queued_video(http: httpx2.Client) -> str:
    created = http.post(VIDEOS, json={"prompt": "a kite over a beach"})
    assert created.status_code == 200, created.text
    return str(created.json()["id"])


def not_null(schema: dict[str, Any]) -> dict[str, Any]:
    """The branch of an optional value's schema that is not null (constraints sit there)."""
    branches = [b for b in schema.get("anyOf", [schema]) if b != {"type": "null"}]
    assert len(branches) == 1, schema
    return dict(branches[0])


def openai_error(response: httpx2.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    error: dict[str, Any] = response.json()["error"]
    return error


# -- 405 and Allow -------------------------------------------------------------------------------


def test_every_405_allows_exactly_the_methods_its_path_serves(
    app: InProcessApp, schema: dict[str, Any]
) -> None:
    wrong: dict[str, str] = {}
    with app.client() as http:
        for path, operations in schema["paths"].items():
            declared = {method.upper() for method in operations}
            url = re.sub(r"\{[^}]+\}", "x", path)
            for method in set(METHODS) - declared:
                response = http.request(method, url)
                allowed = set(response.headers.get("allow", "").split(", "))
                if response.status_code != 405 or allowed != declared:
                    wrong[f"{method} {path}"] = f"{response.status_code} Allow: {allowed}"
    assert not wrong


def test_a_405_is_in_the_surface_error_shape_and_names_the_methods(app: InProcessApp) -> None:
    with app.client() as http:
        openai = http.put(VIDEOS)
        seed = http.delete(f"{SEED}/x")
    assert openai.headers["allow"] == "GET, POST"  # HEAD too is a 405 here
    message = openai_error(openai, 405)["message"]
    assert message == "PUT is not allowed on /v1/videos; it allows GET, POST"
    assert seed.status_code == 405 and seed.headers["allow"] == "GET"
    assert seed.json()["error_code"] == 1005 and "it allows GET" in seed.json()["detail"]


# -- well-formed requests the server refused ----------------------------------------------------


def test_an_unknown_after_cursor_is_a_404_on_both_lists(app: InProcessApp) -> None:
    with app.client() as http:
        videos = http.get(VIDEOS, params={"after": "video_" + "0" * 32})
        endpoints = http.get(ENDPOINTS, params={"after": "we_" + "0" * 32})
    assert openai_error(videos, 404)["param"] == "after"
    assert openai_error(endpoints, 404)["param"] == "after"
    assert "restart from the first page" in videos.json()["error"]["message"]


def test_content_of_an_unfinished_video_is_a_404_as_openai_answers(
    app: InProcessApp, completed: str
) -> None:
    with app.client() as http:
        queued = queued_video(http)
        waiting = http.get(f"{VIDEOS}/{queued}/content")
        http.post(f"{VIDEOS}/{queued}/cancel")
        cancelled = http.get(f"{VIDEOS}/{queued}/content", params={"variant": "thumbnail"})
        done = http.get(f"{VIDEOS}/{completed}/content")
    error = openai_error(waiting, 404)
    assert error["code"] == "video_not_ready" and "no content yet" in error["message"]
    assert openai_error(cancelled, 404)["code"] == "video_not_ready"
    assert done.status_code == 200 and done.headers["content-type"] == "video/mp4"


def test_a_remix_of_an_unfinished_video_is_a_final_409(
    app: InProcessApp, completed: str, schema: dict[str, Any]
) -> None:
    with app.client() as http:
        source = queued_video(http)
        refused = http.post(f"{VIDEOS}/{source}/remix", json={"prompt": "at night"})
        accepted = http.post(f"{VIDEOS}/{completed}/remix", json={"prompt": "at night"})
    error = openai_error(refused, 409)
    assert error["code"] == "video_not_ready" and error["param"] == "video_id"
    assert "only a completed video can be remixed" in error["message"]
    assert refused.headers["x-should-retry"] == "false"  # else the openai SDK retries it
    assert accepted.status_code == 200 and accepted.json()["remixed_from_video_id"] == completed
    assert "409" in schema["paths"]["/v1/videos/{video_id}/remix"]["post"]["responses"]


# -- what the server refuses is declared ---------------------------------------------------------


def test_usage_dates_are_declared_as_dates_in_order(
    app: InProcessApp, schema: dict[str, Any]
) -> None:
    parameters = schema["paths"]["/v1/usage"]["get"]["parameters"]
    for parameter in parameters:
        day = not_null(parameter["schema"])
        assert day["format"] == "date" and re.search(day["pattern"], "2026-12-01")
    assert "on or before end_date" in parameters[0]["description"]
    with app.client() as http:
        empty = http.get("/v1/usage", params={"start_date": ""})
        not_a_day = http.get("/v1/usage", params={"end_date": "2026-02-30"})
        backwards = http.get(
            "/v1/usage", params={"start_date": "2026-12-02", "end_date": "2026-12-01"}
        )
    assert openai_error(empty, 400)["param"] == "start_date"
    assert openai_error(not_a_day, 400)["param"] == "end_date"
    assert "after end_date" in openai_error(backwards, 400)["message"]


PROMPTS = ["a lake", "  a lake  ", " ", "\t\n", "\u3000\u2028", "\x1c\x1f", "\ufeff", "\u200b"]


@pytest.mark.parametrize("prompt", PROMPTS, ids=[repr(p) for p in PROMPTS])
def test_the_prompt_pattern_accepts_exactly_what_the_server_accepts(
    app: InProcessApp, schema: dict[str, Any], prompt: str
) -> None:
    bodies = schema["components"]["schemas"]
    patterns = {
        bodies[name]["properties"]["prompt"]["pattern"]
        for name in (
            "VideoCreateRequest",
            "VideoRemixRequest",
            "SeedCreateRequest",
            "SeedProCreateRequest",
        )
    }
    assert len(patterns) == 1
    with app.client() as http:
        status = http.post(VIDEOS, json={"prompt": prompt}).status_code
    assert status == (200 if re.search(patterns.pop(), prompt) else 400)


def test_sizes_this_server_cannot_make_are_not_declared(schema: dict[str, Any]) -> None:
    bodies = schema["components"]["schemas"]
    openai_sizes = bodies["VideoCreateRequest"]["properties"]["size"]["enum"]
    pro_sizes = bodies["SeedProCreateRequest"]["properties"]["size"]["enum"]
    form = schema["paths"][VIDEOS]["post"]["requestBody"]["content"]["multipart/form-data"]
    form_sizes = form["schema"]["properties"]["size"]["enum"]
    assert set(openai_sizes) == set(pro_sizes) == set(form_sizes) == set(ALLOWED_SIZES)


def test_file_id_is_undeclared_so_the_schema_refuses_it(schema: dict[str, Any]) -> None:
    reference = schema["components"]["schemas"]["ImageReference"]
    assert set(reference["properties"]) == {"image_url"}
    assert reference["additionalProperties"] is False


def test_multipart_fields_are_never_null(schema: dict[str, Any]) -> None:
    """A form field cannot carry null: a client following ``anyOf [string, null]`` sent the
    text "null" as the webhook URL."""
    form = schema["paths"][VIDEOS]["post"]["requestBody"]["content"]["multipart/form-data"]
    assert "null" not in str(form["schema"]["properties"])


def test_event_types_are_declared_as_an_enum(schema: dict[str, Any]) -> None:
    bodies = schema["components"]["schemas"]
    create = not_null(bodies["WebhookEndpointCreate"]["properties"]["event_types"])
    assert create["minItems"] == 1 and "video.completed" in create["items"]["enum"]
    assert "video.failed" in bodies["WebhookTestRequest"]["properties"]["event_type"]["enum"]


def test_a_boolean_must_be_a_boolean(app: InProcessApp) -> None:
    with app.client() as http:
        endpoint = http.post(ENDPOINTS, json={"url": "https://93.184.215.14/hook"}).json()
        rotate = f"{ENDPOINTS}/{endpoint['id']}/rotate_secret"
        refused = http.post(rotate, json={"keep_old_secret_active_for_24_hours": "yes"})
        accepted = http.post(rotate, json={"keep_old_secret_active_for_24_hours": True})
    assert openai_error(refused, 400)["param"] == "keep_old_secret_active_for_24_hours"
    assert accepted.status_code == 200, accepted.text


# -- the webhook URL pattern is the server's own rule --------------------------------------------


def test_the_schema_declares_the_webhook_url_pattern(schema: dict[str, Any]) -> None:
    bodies = schema["components"]["schemas"]
    assert bodies["WebhookEndpointCreate"]["properties"]["url"]["pattern"] == WEBHOOK_URL_PATTERN
    for name in ("SeedCreateRequest", "SeedProCreateRequest", "VideoCreateRequest"):
        webhook_url = not_null(bodies[name]["properties"]["webhook_url"])
        assert webhook_url["pattern"] == WEBHOOK_URL_PATTERN


def _form_accepted(url: str) -> bool:
    try:
        parse_webhook_url(url)
    except SpecError:
        return False
    return True


URL_PIECES = st.sampled_from(
    ["http", "https", "HTTP", "://", "/", ":", "?", "#", "@", "\\", " ", "[", "]", "%", "0",
     "80", "65535", "65536", "a", "example.com", "1.2.3.4", "-", "_", "~", "'", "=", "&"]
)  # fmt: skip


@settings(max_examples=400, deadline=None)
@given(st.lists(URL_PIECES, max_size=10).map("".join))
def test_the_server_accepts_a_url_exactly_when_the_pattern_matches(url: str) -> None:
    """Except a bracketed IPv6 host, whose validity the pattern does not spell out (the server
    refuses a malformed one with a 400 that says so)."""
    matches = re.fullmatch(WEBHOOK_URL_PATTERN, url) is not None
    if "[" in url:
        assert matches or not _form_accepted(url)
    else:
        assert _form_accepted(url) == matches


@settings(max_examples=100, deadline=None)
@given(st.from_regex(WEBHOOK_URL_PATTERN, fullmatch=True).filter(lambda url: "[" not in url))
def test_what_the_pattern_generates_the_server_accepts(url: str) -> None:
    assert _form_accepted(url)
