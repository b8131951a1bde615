"""HTTP behaviour that players, download tools and browser pages rely on: ``HEAD`` answers as
``GET`` without the body (errors too), completed media carries a strong ``ETag`` and private
cache lifetimes with 304 revalidation while ``Range`` keeps working, and CORS answers only the
origins the operator configured."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx2
import pytest
from starlette.testclient import TestClient

from reelforge.api.app import create_app
from reelforge.api.content import MAX_CACHE_SECONDS
from reelforge.worker import Worker
from tests.support.apps import InProcessApp, running_app
from tests.support.settings import fast_settings

VIDEOS = "/v1/videos"
SEED = "/vendors/openai/v1/sora/generation"
VARIANTS = ("video", "thumbnail", "spritesheet")
# Set per answer, not per resource: they differ between any two requests.
PER_ANSWER = {"date", "x-request-id"}


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[InProcessApp]:
    data_dir = tmp_path_factory.mktemp("hygiene") / "data"
    with running_app(data_dir, embedded_workers=False) as served:
        yield served


@pytest.fixture(scope="module")
def completed(app: InProcessApp) -> tuple[str, str]:
    """A completed video's content URL and a completed seed task's signed link."""
    with app.client() as http:
        video = http.post(VIDEOS, json={"prompt": "a lighthouse at dusk", "seconds": "4"})
        task = http.post(SEED, json={"prompt": "a harbour at dawn", "seconds": "4"})
        assert video.status_code == 200 and task.status_code == 202, video.text + task.text
        assert Worker(app.runtime).run_until_idle() == 2
        task_id = task.json()["task_info"]["id"]
        link = http.get(f"{SEED}/{task_id}").json()["videos"][0]
    return f"{VIDEOS}/{video.json()['id']}/content", link.removeprefix(app.base_url)


def resource_headers(response: httpx2.Response) -> dict[str, str]:
    return {name: value for name, value in response.headers.items() if name not in PER_ANSWER}


def same_but_body(http: httpx2.Client, url: str, **kwargs: Any) -> httpx2.Response:
    """HEAD ``url``, checking it answers as GET does without the body."""
    got = http.get(url, **kwargs)
    head = http.head(url, **kwargs)
    assert head.status_code == got.status_code, url
    assert resource_headers(head) == resource_headers(got), url
    assert head.content == b"" and len(got.content) > 0, url
    return got


# -- HEAD -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("variant", VARIANTS)
def test_head_on_content_answers_as_get_without_the_body(
    app: InProcessApp, completed: tuple[str, str], variant: str
) -> None:
    content, _ = completed
    with app.client() as http:
        got = same_but_body(http, content, params={"variant": variant})
        ranged = same_but_body(
            http, content, params={"variant": variant}, headers={"Range": "bytes=0-99"}
        )
    assert got.status_code == 200 and int(got.headers["content-length"]) == len(got.content)
    assert ranged.status_code == 206 and ranged.headers["content-length"] == "100"


def test_head_on_a_signed_link_answers_as_get_without_the_body(
    app: InProcessApp, completed: tuple[str, str]
) -> None:
    _, link = completed
    with app.anonymous() as browser:
        got = same_but_body(browser, link)
        refused = same_but_body(browser, link.replace("signature=", "signature=x"))
    assert got.headers["content-type"] == "video/mp4"
    assert refused.status_code == 403  # the error's status and headers, no body


def test_head_errors_carry_status_and_headers_only(app: InProcessApp) -> None:
    missing = f"{VIDEOS}/video_{'0' * 32}/content"
    with app.client() as http:
        not_found = same_but_body(http, missing)
    with app.anonymous() as anonymous:
        unauthorized = same_but_body(anonymous, missing)
    assert not_found.status_code == 404 and not_found.json()["error"]["message"]
    assert unauthorized.status_code == 401


def test_head_is_declared_only_where_it_is_served(app: InProcessApp) -> None:
    """The 405 for HEAD on a route that serves GET only still names the methods."""
    with app.client() as http:
        refused = http.head(VIDEOS)
    assert refused.status_code == 405 and refused.headers["allow"] == "GET, POST"
    assert refused.content == b""


# -- ETag, Cache-Control, 304 ---------------------------------------------------------------------


@pytest.mark.parametrize("variant", VARIANTS)
def test_media_is_revalidated_with_its_etag(
    app: InProcessApp, completed: tuple[str, str], variant: str
) -> None:
    content, _ = completed
    params = {"variant": variant}
    with app.client() as http:
        first = http.get(content, params=params)
        etag = first.headers["etag"]
        again = http.get(content, params=params, headers={"If-None-Match": etag})
        weak = http.get(content, params=params, headers={"If-None-Match": f'"x", W/{etag}'})
        anything = http.head(content, params=params, headers={"If-None-Match": "*"})
        other = http.get(content, params=params, headers={"If-None-Match": '"not-this-one"'})
    assert etag.startswith('"') and not etag.startswith("W/")
    assert again.status_code == weak.status_code == anything.status_code == 304
    assert again.content == b"" and again.headers["etag"] == etag
    assert again.headers["cache-control"] == first.headers["cache-control"]
    assert "content-length" not in again.headers or again.headers["content-length"] == "0"
    assert other.status_code == 200 and other.content == first.content


def test_each_variant_has_its_own_etag(app: InProcessApp, completed: tuple[str, str]) -> None:
    content, _ = completed
    with app.client() as http:
        tags = {http.head(content, params={"variant": v}).headers["etag"] for v in VARIANTS}
    assert len(tags) == len(VARIANTS)


def test_media_is_cached_privately_until_it_expires(
    app: InProcessApp, completed: tuple[str, str]
) -> None:
    content, link = completed
    with app.client() as http:
        owned = http.head(content).headers["cache-control"]
    with app.anonymous() as browser:
        linked = browser.head(link).headers["cache-control"]
    for value in (owned, linked):
        directives = dict(part.strip().partition("=")[::2] for part in value.split(","))
        assert "private" in directives and "public" not in directives
        assert 0 < int(directives["max-age"]) <= MAX_CACHE_SECONDS
    # The link lives an hour (signed_url_ttl_seconds): a copy is kept no longer than the link.
    assert int(linked.rsplit("=", 1)[1]) <= app.runtime.settings.signed_url_ttl_seconds


def test_ranges_keep_working_with_validators(app: InProcessApp, completed: tuple[str, str]) -> None:
    content, _ = completed
    with app.client() as http:
        whole = http.get(content)
        etag = whole.headers["etag"]
        part = http.get(content, headers={"Range": "bytes=10-19"})
        resumed = http.get(content, headers={"Range": "bytes=10-19", "If-Range": etag})
        changed = http.get(content, headers={"Range": "bytes=10-19", "If-Range": '"older"'})
    assert part.status_code == resumed.status_code == 206
    assert part.content == resumed.content == whole.content[10:20]
    assert part.headers["etag"] == etag
    assert changed.status_code == 200 and changed.content == whole.content


# -- CORS -----------------------------------------------------------------------------------------

STUDIO = "https://studio.example.com"


def preflight(http: TestClient, origin: str, path: str = VIDEOS) -> httpx2.Response:
    return http.options(
        path,
        headers={
            "Origin": origin,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization, content-type, idempotency-key",
        },
    )


@pytest.fixture(scope="module")
def cors_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    """CORS is middleware: its answers need no lifespan (no database, no worker)."""
    settings = fast_settings(
        tmp_path_factory.mktemp("cors") / "data", cors_origins=f"{STUDIO}, http://localhost:5173"
    )
    client = TestClient(create_app(settings))  # not entered: no lifespan
    yield client
    client.close()


def test_a_preflight_from_a_configured_origin_is_answered(cors_app: TestClient) -> None:
    answer = preflight(cors_app, STUDIO)
    assert answer.status_code == 200
    assert answer.headers["access-control-allow-origin"] == STUDIO
    assert "POST" in answer.headers["access-control-allow-methods"]
    allowed = answer.headers["access-control-allow-headers"].lower()
    assert {"authorization", "idempotency-key"} <= {h.strip() for h in allowed.split(",")}
    assert "access-control-allow-credentials" not in answer.headers  # bearer keys, no cookies


def test_a_preflight_from_any_other_origin_is_refused(cors_app: TestClient) -> None:
    for origin in ("https://evil.example.com", "http://studio.example.com", "null"):
        answer = preflight(cors_app, origin)
        assert answer.status_code == 400, origin
        assert "access-control-allow-origin" not in answer.headers


def test_answers_to_a_configured_origin_expose_what_clients_read(cors_app: TestClient) -> None:
    answer = cors_app.get("/no/such/route", headers={"Origin": "http://localhost:5173"})
    assert answer.status_code == 404  # errors carry the headers too, or the page sees nothing
    assert answer.headers["access-control-allow-origin"] == "http://localhost:5173"
    exposed = answer.headers["access-control-expose-headers"].lower()
    assert "retry-after" in exposed and "etag" in exposed and "openai-poll-after-ms" in exposed
    stranger = cors_app.get("/healthz", headers={"Origin": "https://evil.example.com"})
    assert "access-control-allow-origin" not in stranger.headers


def test_cors_is_off_by_default(tmp_path: Path) -> None:
    http = TestClient(create_app(fast_settings(tmp_path / "data")))
    answer = preflight(http, STUDIO)
    simple = http.get("/healthz", headers={"Origin": STUDIO})
    assert answer.status_code == 405
    assert "access-control-allow-origin" not in answer.headers
    assert "access-control-allow-origin" not in simple.headers
