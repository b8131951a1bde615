"""Bad upstream configuration fails the engine's load with one line that says what to fix."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from reelforge.domain.errors import EngineLoadError
from reelforge.engines.upstream import UpstreamEngine
from reelforge.engines.upstream.options import parse_options
from tests.support.fake_upstream import FakeUpstream
from tests.support.s3 import free_port


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeUpstream]:
    with FakeUpstream() as server:
        yield server


def engine(base_url: str, allow: bool = True, **upstream: Any) -> UpstreamEngine:
    raw = {
        "allow_private": ["127.0.0.1/32"] if allow else [],
        "upstreams": [{"name": "a", "base_url": base_url, **upstream}],
    }
    return UpstreamEngine(parse_options(raw))


def load_error(target: UpstreamEngine) -> str:
    with pytest.raises(EngineLoadError) as caught:
        target.load()
    message = str(caught.value)
    assert "\n" not in message
    return message


def test_good_configuration_loads(fake: FakeUpstream) -> None:
    good = engine(fake.url, api_key=fake.behaviour.api_key, models={"sora-2": "fake-video-1"})
    good.load()
    assert "healthy" in good.describe()["upstream.a"]


def test_unreachable_upstream(fake: FakeUpstream) -> None:
    message = load_error(engine(f"http://127.0.0.1:{free_port()}", api_key="k"))
    assert "no upstream answers" in message and "ConnectError" in message


def test_bad_key(fake: FakeUpstream) -> None:
    message = load_error(engine(fake.url, api_key="not-the-key"))
    assert "API key was refused" in message and "not-the-key" not in message


def test_unknown_model_mapping(fake: FakeUpstream) -> None:
    bad = engine(fake.url, api_key=fake.behaviour.api_key, models={"sora-2": "wan-typo"})
    message = load_error(bad)
    assert "does not serve wan-typo" in message and "fake-video-1" in message


def test_private_address_not_allowed(fake: FakeUpstream) -> None:
    message = load_error(engine(fake.url, allow=False, api_key=fake.behaviour.api_key))
    assert "loopback" in message and 'allow_private = ["127.0.0.1/32"]' in message


def test_one_upstream_down_leaves_the_others_in_use(fake: FakeUpstream) -> None:
    raw = {
        "allow_private": ["127.0.0.1/32"],
        "upstreams": [
            {"name": "up", "base_url": fake.url, "api_key": fake.behaviour.api_key},
            {"name": "down", "base_url": f"http://127.0.0.1:{free_port()}"},
        ],
    }
    mixed = UpstreamEngine(parse_options(raw))
    mixed.load()
    facts = mixed.describe()
    assert "healthy" in facts["upstream.up"] and "out of use" in facts["upstream.down"]
