"""Webhook URL rules: the form, and the addresses behind the host (public, or allowlisted)."""

from __future__ import annotations

import pytest

from reelforge.domain.errors import SpecError
from reelforge.notify.urls import WebhookUrlPolicy, parse_webhook_url


def resolving(answers: dict[str, list[str]]) -> WebhookUrlPolicy:
    return WebhookUrlPolicy(resolver=lambda host, _port: answers[host])


def test_any_port_and_both_schemes_are_accepted() -> None:
    target = parse_webhook_url("http://Hooks.Example.com:8080/in?x=1")
    assert (target.scheme, target.host, target.port, target.target) == (
        "http",
        "hooks.example.com",
        8080,
        "/in?x=1",
    )
    assert parse_webhook_url("https://[2606:4700::1]/").port == 443


def test_a_host_is_refused_only_when_no_address_is_allowed() -> None:
    policy = resolving({"mixed.test": ["10.0.0.5", "93.184.215.14"], "inside.test": ["10.0.0.5"]})
    assert policy.addresses(parse_webhook_url("https://mixed.test/")) == ["93.184.215.14"]
    with pytest.raises(SpecError) as refused:
        policy.check("https://inside.test/hook")
    assert refused.value.field == "webhook_url"
    assert "host 'inside.test' is not on the public internet: 10.0.0.5 is private" in str(
        refused.value
    )
    assert "webhook_allow_private" in str(refused.value)


def test_operators_allow_their_own_networks() -> None:
    policy = WebhookUrlPolicy(["10.20.0.0/16", "::1/128"], resolver=lambda h, p: ["10.20.3.4"])
    assert policy.check("http://receiver.internal:9000/") == "http://receiver.internal:9000/"
    assert policy.is_allowed("::1") and not policy.is_allowed("10.21.0.1")
    assert not policy.is_allowed("169.254.169.254")


def test_resolution_failures_say_so() -> None:
    def broken(host: str, port: int) -> list[str]:
        raise OSError(-2, "Name or service not known")

    with pytest.raises(SpecError, match=r"url host 'nowhere.test' could not be resolved \(Name"):
        WebhookUrlPolicy(resolver=broken).check("https://nowhere.test/", field="url")
    with pytest.raises(SpecError, match="has no addresses"):
        resolving({"empty.test": []}).check("https://empty.test/")
