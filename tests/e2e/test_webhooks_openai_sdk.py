"""Webhooks as an OpenAI customer sees them: endpoints registered with the official ``openai``
SDK against a real server, deliveries received by a real HTTP receiver on loopback, and
verified with the SDK's ``client.webhooks.unwrap`` / ``verify_signature`` and with the
``standardwebhooks`` library."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import openai
import pytest
from standardwebhooks.webhooks import Webhook

from tests.support.live import LiveServer, running_server
from tests.support.wait import wait_for
from tests.support.webhook_receiver import Received, WebhookReceiver

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


@pytest.fixture(scope="module")
def receiver() -> Iterator[WebhookReceiver]:
    with WebhookReceiver() as running:
        yield running


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    # The receiver is on loopback, which is refused unless the operator allows it.
    data_dir = tmp_path_factory.mktemp("webhooks") / "data"
    with running_server(data_dir, webhook_allow_private=["127.0.0.1/32"]) as live:
        yield live


@pytest.fixture(scope="module")
def client(server: LiveServer) -> openai.OpenAI:
    return openai.OpenAI(api_key=server.token, base_url=server.base_url + "/v1")


def delivery_of(receiver: WebhookReceiver, event_type: str, vid: str, path: str) -> Received:
    """The accepted delivery of ``event_type`` for video ``vid`` sent to ``path``: each test's
    endpoint has its own query string, since every endpoint of the key gets the event."""

    def found() -> list[Received]:
        return [
            request
            for request in receiver.accepted()
            if (json.loads(request.body)["type"], json.loads(request.body)["data"]["id"])
            == (event_type, vid)
            and request.path == path
        ]

    return wait_for(found, timeout=60)[0]


def test_sdk_registers_an_endpoint_and_unwraps_its_signed_delivery(
    client: openai.OpenAI, receiver: WebhookReceiver
) -> None:
    endpoint = client.webhooks.create(
        url=receiver.url + "?ep=sdk", name="sdk test", event_types=["video.completed"]
    )
    assert endpoint.id.startswith("we_") and endpoint.object == "webhook_endpoint"
    assert endpoint.signing_secret.startswith("whsec_")
    assert endpoint.event_types == ["video.completed"]
    video = client.videos.create(prompt="a paper boat on a pond", seconds="4")

    request = delivery_of(receiver, "video.completed", video.id, "/hooks?ep=sdk")

    client.webhooks.verify_signature(request.body, request.headers, secret=endpoint.signing_secret)
    event = client.webhooks.unwrap(request.body, request.headers, secret=endpoint.signing_secret)
    assert event.type == "video.completed"  # type: ignore[comparison-overlap]
    assert event.data.id == video.id
    assert request.headers["webhook-id"] == event.id and event.id.startswith("evt_")
    assert request.headers["user-agent"] == "ReelForge-webhooks/1"
    assert request.headers["content-type"] == "application/json"
    with pytest.raises(openai.InvalidWebhookSignatureError):
        client.webhooks.verify_signature(request.body, request.headers, secret="whsec_" + "A" * 44)


def test_standardwebhooks_verifies_the_same_delivery(
    client: openai.OpenAI, receiver: WebhookReceiver
) -> None:
    endpoint = client.webhooks.create(
        url=receiver.url + "?ep=svix",
        name="svix",
        event_types=["video.completed", "video.failed"],
    )
    video = client.videos.create(prompt="a lantern in fog", seconds="4")
    request = delivery_of(receiver, "video.completed", video.id, "/hooks?ep=svix")
    payload = Webhook(endpoint.signing_secret).verify(request.body, request.headers)
    assert payload["data"]["id"] == video.id
    assert payload["data"]["status"] == "completed"


def test_per_request_webhook_url_is_signed_with_the_keys_secret(
    client: openai.OpenAI, server: LiveServer, receiver: WebhookReceiver
) -> None:
    with server.client() as http:
        created = http.post(
            "/vendors/openai/v1/sora/generation",
            json={
                "prompt": "a kite at dusk",
                "seconds": "4",
                "size": "720x1280",
                "webhook_url": receiver.url + "?job=seed",
            },
        )
        assert created.status_code == 202, created.text
        secret = http.get("/v1/webhook_secret").json()["signing_secret"]
    task_id = created.json()["task_info"]["id"]

    # A seed task's events carry its uuid, the id its creator knows, in data.id and data.task_id.
    request = delivery_of(receiver, "video.completed", task_id, "/hooks?job=seed")

    event = client.webhooks.unwrap(request.body, request.headers, secret=secret)
    assert json.loads(request.body)["data"]["task_id"] == task_id
    assert event.type == "video.completed"  # type: ignore[comparison-overlap]


def test_openai_sdk_create_with_webhook_url_in_extra_body(
    client: openai.OpenAI, server: LiveServer, receiver: WebhookReceiver
) -> None:
    video = client.videos.create(
        prompt="a tram in the rain",
        seconds="4",
        extra_body={"webhook_url": receiver.url + "?job=sdk"},
    )
    request = delivery_of(receiver, "video.completed", video.id, "/hooks?job=sdk")
    with server.client() as http:
        secret = http.get("/v1/webhook_secret").json()["signing_secret"]
    client.webhooks.verify_signature(request.body, request.headers, secret=secret)


def test_endpoint_management_with_the_sdk(
    client: openai.OpenAI, server: LiveServer, receiver: WebhookReceiver, tmp_path: Path
) -> None:
    url = receiver.url + "?ep=manage"
    created = client.webhooks.create(url=url, name="manage", event_types=["video.failed"])
    fetched = client.webhooks.retrieve(created.id)
    assert fetched.url == url and fetched.signing_secret_hint
    assert created.id in [endpoint.id for endpoint in client.webhooks.list()]
    updated = client.webhooks.update(created.id, name="renamed")
    assert updated.name == "renamed" and updated.event_types == ["video.failed"]
    rotated = client.webhooks.rotate_secret(created.id, keep_old_secret_active_for_24_hours=True)
    assert rotated.signing_secret != created.signing_secret

    result = client.webhooks.test(created.id, event_type="video.completed")
    assert result.status_code == 200 and result.webhook_endpoint_id == created.id
    [sample] = [r for r in receiver.accepted() if r.path == "/hooks?ep=manage"]
    assert b'"id":"evt_test_' in sample.body
    # Signed with the new secret and, for 24 hours, the old one too.
    for secret in (rotated.signing_secret, created.signing_secret):
        client.webhooks.verify_signature(sample.body, sample.headers, secret=secret)

    other = openai.OpenAI(api_key=server.other_token, base_url=server.base_url + "/v1")
    with pytest.raises(openai.NotFoundError):
        other.webhooks.retrieve(created.id)
    deleted = client.webhooks.delete(created.id)
    assert deleted.deleted and deleted.object == "webhook_endpoint.deleted"
    with pytest.raises(openai.NotFoundError):
        client.webhooks.retrieve(created.id)


def test_metrics_count_delivery_outcomes(
    client: openai.OpenAI, server: LiveServer, receiver: WebhookReceiver
) -> None:
    client.webhooks.create(
        url=receiver.url + "?ep=metrics", name="metrics", event_types=["video.queued"]
    )
    video = client.videos.create(prompt="a metronome", seconds="4")
    delivery_of(receiver, "video.queued", video.id, "/hooks?ep=metrics")

    def counted() -> bool:
        with server.client() as http:
            text = http.get("/metrics").text
        return 'reelforge_webhook_deliveries_total{outcome="delivered"}' in text

    wait_for(counted, timeout=10)
