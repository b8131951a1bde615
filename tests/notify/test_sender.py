"""One attempt against a real receiver on loopback: the name kept in the Host header while the
socket goes to a checked address, a DNS answer turned private, timeouts, non-2xx answers,
``Retry-After`` (seconds or an HTTP date) and 410 Gone."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime
from email.utils import formatdate

import pytest

from reelforge.notify.sender import WebhookSender, parse_retry_after
from reelforge.notify.signing import signed_headers
from reelforge.notify.urls import WebhookUrlPolicy
from tests.support.webhook_receiver import WebhookReceiver

SECRET = "whsec_" + "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
BODY = '{"id":"evt_1","object":"event","type":"video.completed"}'


@pytest.fixture
def receiver() -> Iterator[WebhookReceiver]:
    with WebhookReceiver() as running:
        yield running


def sender_resolving(answer: list[str], timeout: float = 5.0) -> WebhookSender:
    policy = WebhookUrlPolicy(["127.0.0.1/32"], resolver=lambda _host, _port: answer)
    return WebhookSender(policy, timeout)


def test_the_name_stays_in_the_host_header(receiver: WebhookReceiver) -> None:
    port = receiver.url.split(":")[2].split("/")[0]
    sender = sender_resolving(["127.0.0.1"])
    result = sender.send(
        f"http://receiver.test:{port}/hooks", signed_headers("evt_1", BODY, [SECRET]), BODY
    )
    assert result.delivered and result.status_code == 200 and result.error is None
    [got] = receiver.all()
    assert got.headers["host"] == f"receiver.test:{port}" and got.body == BODY.encode()


def test_a_dns_answer_turned_private_fails_the_attempt(receiver: WebhookReceiver) -> None:
    port = receiver.url.split(":")[2].split("/")[0]
    sender = sender_resolving(["10.9.8.7"])
    result = sender.send(f"http://receiver.test:{port}/hooks", {}, BODY)
    assert not result.delivered and result.status_code is None
    assert result.error is not None and "10.9.8.7 is private (10.0.0.0/8)" in result.error
    assert receiver.all() == []


def test_a_receiver_that_never_answers_times_out(receiver: WebhookReceiver) -> None:
    receiver.hold()
    result = sender_resolving(["127.0.0.1"], timeout=0.5).send(receiver.url, {}, BODY)
    assert (result.status_code, result.error) == (None, "no answer within 0.5 s")
    assert 400 < result.latency_ms < 5000


def test_non_2xx_is_a_failed_attempt_with_its_status(receiver: WebhookReceiver) -> None:
    receiver.down = True
    result = sender_resolving(["127.0.0.1"]).send(receiver.url, {}, BODY)
    assert not result.delivered and result.status_code == 503
    assert result.error == "the receiver answered HTTP 503"


def test_retry_after_in_seconds_is_passed_on(receiver: WebhookReceiver) -> None:
    receiver.answers = [(429, {"Retry-After": "120"})]
    result = sender_resolving(["127.0.0.1"]).send(receiver.url, {}, BODY)
    assert (result.status_code, result.retry_after) == (429, 120.0)
    assert result.error == "the receiver answered HTTP 429" and not result.gone


def test_retry_after_as_an_http_date_is_seconds_from_now(receiver: WebhookReceiver) -> None:
    receiver.answers = [(503, {"Retry-After": formatdate(time.time() + 3600, usegmt=True)})]
    result = sender_resolving(["127.0.0.1"]).send(receiver.url, {}, BODY)
    assert result.status_code == 503
    assert result.retry_after is not None and 3590 <= result.retry_after <= 3600


def test_a_success_carries_no_retry_after(receiver: WebhookReceiver) -> None:
    receiver.answers = [(200, {"Retry-After": "60"})]
    result = sender_resolving(["127.0.0.1"]).send(receiver.url, {}, BODY)
    assert result.delivered and result.retry_after is None


def test_410_gone_is_reported_as_gone(receiver: WebhookReceiver) -> None:
    receiver.answers = [(410, {})]
    result = sender_resolving(["127.0.0.1"]).send(receiver.url, {}, BODY)
    assert result.gone and not result.delivered
    assert result.error == "the receiver answered HTTP 410 Gone"


@pytest.mark.parametrize(
    ("header", "seconds"),
    [
        ("30", 30.0),
        (" 7 ", 7.0),
        ("Wed, 02 Dec 2026 12:00:00 GMT", 86400.0),
        ("Mon, 30 Nov 2026 12:00:00 GMT", 0.0),  # a date already past: no wait
        (None, None),
        ("", None),
        ("soon", None),
        ("-5", None),
        ("1.5", None),
        ("Wed, 02 Dec 2026 12:00:00 -0000", None),  # no zone: unreadable
    ],
)
def test_parse_retry_after(header: str | None, seconds: float | None) -> None:
    now = datetime(2026, 12, 1, 12, 0, tzinfo=UTC).timestamp()
    assert parse_retry_after(header, now=now) == seconds
