"""Webhook URLs on every surface: a URL that is private, not http(s) or malformed is a 400 in
the surface's error shape that says why, and nothing is stored (no job, no endpoint); endpoint
registration validates its events and is scoped to the key; a receiver's 410 Gone shows on the
endpoint (``disabled_at``, ``disabled_reason``) until an update enables it."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import httpx2
import pytest

from reelforge.domain.specs import GenerationSpec
from tests.support.apps import InProcessApp, running_app
from tests.support.postgres import fresh_schema
from tests.support.wait import wait_for
from tests.support.webhook_receiver import WebhookReceiver

PRO = "/vendors/openai/v1/sora-2-pro/generation"
SEED = "/vendors/openai/v1/sora/generation"
OPENAI = "/v1/videos"
ENDPOINTS = "/v1/webhook_endpoints"
OK = {"prompt": "a calm lake", "seconds": "4", "size": "1280x720"}

BAD_URLS = [
    ("private", "http://10.1.2.3/hook", "10.1.2.3 is private (10.0.0.0/8)"),
    ("loopback", "http://127.0.0.1:8080/hook", "is loopback (127.0.0.0/8)"),
    ("localhost", "http://localhost/hook", "is not on the public internet"),
    ("metadata", "http://169.254.169.254/latest", "is link-local (169.254.0.0/16)"),
    ("ipv6_mapped", "http://[::ffff:10.0.0.1]/", "is private"),
    ("ftp", "ftp://hooks.example.com/in", "uses ftp:; send an https:// (or http://) URL"),
    ("no_scheme", "hooks.example.com/in", "has no scheme"),
    ("userinfo", "https://user:pw@hooks.example.com/", "must not contain a user name"),
    ("spaces", "https://hooks.example.com/a b", "contains spaces"),
    ("bad_port", "https://hooks.example.com:99999/", "cannot be parsed"),
    ("no_host", "https:///path", "has no host name"),
]
PROBLEM_IDS = [case[0] for case in BAD_URLS]


@pytest.fixture
def unchanged(api_app: InProcessApp) -> Iterator[None]:
    jobs = api_app.job_count()
    endpoints = len(api_app.runtime.webhooks.list_endpoints(None, limit=1000))
    yield
    assert api_app.job_count() == jobs
    assert len(api_app.runtime.webhooks.list_endpoints(None, limit=1000)) == endpoints


def openai_error(response: httpx2.Response, fragment: str) -> dict[str, Any]:
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert fragment in error["message"], error["message"]
    return dict(error)


@pytest.mark.usefixtures("unchanged")
@pytest.mark.parametrize(("name", "url", "fragment"), BAD_URLS, ids=PROBLEM_IDS)
def test_openai_create_refuses_a_bad_webhook_url(
    api_app: InProcessApp, name: str, url: str, fragment: str
) -> None:
    with api_app.client() as http:
        as_json = http.post(OPENAI, json={**OK, "webhook_url": url})
        # An empty, unnamed part makes httpx send multipart, as the openai SDK always does.
        as_form = http.post(OPENAI, data={**OK, "webhook_url": url}, files={"x": ("", b"")})
        assert as_form.request.headers["content-type"].startswith("multipart/form-data")
    for response in (as_json, as_form):
        error = openai_error(response, fragment)
        assert error["param"] == "webhook_url"
        assert error["message"].startswith("webhook_url ")


@pytest.mark.usefixtures("unchanged")
@pytest.mark.parametrize(("name", "url", "fragment"), BAD_URLS, ids=PROBLEM_IDS)
def test_seed_creates_refuse_a_bad_webhook_url(
    api_app: InProcessApp, name: str, url: str, fragment: str
) -> None:
    with api_app.client() as http:
        for path in (SEED, PRO):
            response = http.post(path, json={**OK, "webhook_url": url})
            assert response.status_code == 400, response.text
            body = response.json()
            assert set(body) == {"status", "title", "detail", "instance", "error_code"}
            assert fragment in body["detail"] and body["detail"].startswith("webhook_url ")


@pytest.mark.usefixtures("unchanged")
@pytest.mark.parametrize(("name", "url", "fragment"), BAD_URLS, ids=PROBLEM_IDS)
def test_endpoint_registration_refuses_a_bad_url(
    api_app: InProcessApp, name: str, url: str, fragment: str
) -> None:
    with api_app.client() as http:
        response = http.post(ENDPOINTS, json={"url": url, "name": name})
    assert openai_error(response, fragment)["param"] == "url"


@pytest.mark.usefixtures("unchanged")
def test_an_overlong_webhook_url_is_refused(api_app: InProcessApp) -> None:
    url = "https://hooks.example.com/" + "a" * 2100
    with api_app.client() as http:
        response = http.post(OPENAI, json={**OK, "webhook_url": url})
    assert openai_error(response, "webhook_url")["param"] == "webhook_url"


@pytest.mark.usefixtures("unchanged")
@pytest.mark.parametrize(
    ("events", "fragment"),
    [
        (["video.completed", "batch.completed"], "unknown event type 'batch.completed'; valid"),
        ([], "event_types is empty; list at least one of: video.queued"),
    ],
)
def test_endpoint_registration_refuses_unknown_events(
    api_app: InProcessApp, events: list[str], fragment: str
) -> None:
    body = {"url": "https://93.184.215.14/hook", "name": "x", "event_types": events}
    with api_app.client() as http:
        response = http.post(ENDPOINTS, json=body)
    error = openai_error(response, fragment)
    assert error["param"] == "event_types" and "video.progress" in error["message"]


def test_endpoints_default_to_terminal_events_and_stay_with_their_key(
    api_app: InProcessApp,
) -> None:
    with api_app.client() as http:
        created = http.post(ENDPOINTS, json={"url": "https://93.184.215.14/hook"})
        assert created.status_code == 200, created.text
        endpoint = created.json()
        assert endpoint["event_types"] == ["video.completed", "video.failed", "video.cancelled"]
        assert endpoint["name"] == "https://93.184.215.14/hook"
        assert endpoint["signing_secret"].startswith("whsec_")
        fetched = http.get(f"{ENDPOINTS}/{endpoint['id']}").json()
        assert "signing_secret" not in fetched
        hint = fetched["signing_secret_hint"]
        assert "..." in hint and endpoint["signing_secret"][:9] == hint[:9]
        listed = http.get(ENDPOINTS, params={"limit": 1}).json()
        assert listed["object"] == "list" and listed["first_id"] == endpoint["id"]
        bad_cursor = http.get(ENDPOINTS, params={"after": "we_" + "0" * 32})
        assert bad_cursor.status_code == 404, bad_cursor.text  # well formed, names nothing
        assert bad_cursor.json()["error"]["param"] == "after"
        assert "after: no webhook endpoint" in bad_cursor.json()["error"]["message"]
    with api_app.client(api_app.other_token) as other:
        assert other.get(f"{ENDPOINTS}/{endpoint['id']}").status_code == 404
        assert other.delete(f"{ENDPOINTS}/{endpoint['id']}").status_code == 404
        assert endpoint["id"] not in [e["id"] for e in other.get(ENDPOINTS).json()["data"]]
        other_secret = other.get("/v1/webhook_secret").json()["signing_secret"]
    with api_app.client() as http:
        own_secret = http.get("/v1/webhook_secret").json()
        assert (
            own_secret["object"] == "webhook_secret"
            and own_secret["signing_secret"] != other_secret
        )
        gone = http.delete(f"{ENDPOINTS}/{endpoint['id']}").json()
        assert gone == {"id": endpoint["id"], "object": "webhook_endpoint.deleted", "deleted": True}
        missing = http.get(f"{ENDPOINTS}/{endpoint['id']}")
        assert missing.status_code == 404 and "does not exist" in missing.json()["error"]["message"]


def test_an_unreachable_endpoint_test_says_why(api_app: InProcessApp) -> None:
    with api_app.client() as http:
        endpoint = http.post(ENDPOINTS, json={"url": "https://93.184.215.14/hook"}).json()
        api_app.runtime.webhooks.update_endpoint(
            api_app.key_id, endpoint["id"], url="http://127.0.0.1:9/closed"
        )  # as if an operator allowed loopback, then revoked the allowance
        response = http.post(
            f"{ENDPOINTS}/{endpoint['id']}/test", json={"event_type": "video.completed"}
        )
    error = openai_error(response, "the test delivery to http://127.0.0.1:9/closed failed")
    assert "is loopback" in error["message"] and error["code"] == "webhook_unreachable"


@pytest.fixture
def loopback_app(tmp_path: Path, api_database_url: str | None) -> Iterator[InProcessApp]:
    """An app whose own dispatcher may deliver to receivers on loopback, on a database of its
    own (the module's app would otherwise claim its deliveries, and refuse loopback)."""
    with ExitStack() as stack:
        url = stack.enter_context(fresh_schema("rf_api")) if api_database_url else None
        yield stack.enter_context(
            running_app(tmp_path / "data", database_url=url, webhook_allow_private=["127.0.0.1/32"])
        )


def test_a_410_shows_on_the_endpoint_until_an_update_enables_it(
    loopback_app: InProcessApp,
) -> None:
    with WebhookReceiver() as receiver, loopback_app.client() as http:
        receiver.answers = [(410, {})]
        body = {"url": receiver.url, "event_types": ["video.queued"]}
        endpoint = http.post(ENDPOINTS, json=body).json()
        assert (endpoint["disabled_at"], endpoint["disabled_reason"]) == (None, None)
        spec = GenerationSpec.build("a bridge", seconds=4)
        loopback_app.runtime.database.enqueue(spec, loopback_app.key_id)

        def once_disabled() -> dict[str, Any] | None:
            got: dict[str, Any] = http.get(f"{ENDPOINTS}/{endpoint['id']}").json()
            return got if got["disabled_at"] is not None else None

        disabled = wait_for(once_disabled, timeout=30)
        assert disabled is not None
        assert disabled["disabled_reason"].startswith("the receiver answered 410 Gone at ")
        listed = http.get(ENDPOINTS).json()["data"]
        assert [e["disabled_at"] for e in listed] == [disabled["disabled_at"]]

        enabled = http.post(f"{ENDPOINTS}/{endpoint['id']}", json={})
        assert enabled.status_code == 200, enabled.text
        assert (enabled.json()["disabled_at"], enabled.json()["disabled_reason"]) == (None, None)
        loopback_app.runtime.database.enqueue(spec, loopback_app.key_id)
        wait_for(lambda: receiver.accepted(), timeout=30)
    assert [r.status for r in receiver.all()] == [410, 200]


def test_the_openapi_documents_webhook_url_on_both_create_bodies(api_app: InProcessApp) -> None:
    with api_app.client() as http:
        spec = http.get("/openapi.json").json()
    bodies = spec["paths"][OPENAI]["post"]["requestBody"]["content"]
    as_json = bodies["application/json"]["schema"]["$ref"].rsplit("/", 1)[1]
    assert "webhook_url" in spec["components"]["schemas"][as_json]["properties"]
    assert "webhook_url" in bodies["multipart/form-data"]["schema"]["properties"]
