"""Upstream options (one-line configuration errors), address rules and the upstream pool."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from reelforge.domain.errors import ConfigError
from reelforge.engines.upstream.addresses import AddressRule
from reelforge.engines.upstream.options import parse_options
from reelforge.engines.upstream.pool import UpstreamPool, UpstreamSlot
from reelforge.engines.upstream.protocol import RemoteJob, Submission, UpstreamUnavailable


def one(**fields: Any) -> dict[str, Any]:
    return {"upstreams": [{"name": "a", "base_url": "http://10.0.0.5:8000", **fields}]}


@pytest.mark.parametrize(
    ("raw", "says"),
    [
        ({}, "needs at least one server"),
        (one(base_url="ftp://x"), r"is not an http\(s\) URL"),
        (one(base_url="http://user:pw@host"), "not in base_url"),
        (one(models={"gpt-9": "x"}), "is not a model clients can ask for"),
        (one(models={"sora-2": " "}), "models.sora-2 is empty"),
        (one(api_key="k", api_key_env="K"), "not both"),
        (one(max_in_flight=0), "max_in_flight"),
        ({**one(), "allow_private": ["10.0.0.0/33"]}, "is not a network"),
        ({**one(), "tpyo": 1}, "tpyo"),
        ({"upstreams": one()["upstreams"] * 2}, "a repeats"),
    ],
)
def test_bad_options_fail_with_one_line(raw: dict[str, Any], says: str) -> None:
    with pytest.raises(ConfigError, match=says) as caught:
        parse_options(raw)
    assert "\n" not in str(caught.value)


def test_missing_key_environment_variable_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("UPSTREAM_KEY_FOR_TEST", raising=False)
    options = parse_options(one(api_key_env="UPSTREAM_KEY_FOR_TEST"))
    with pytest.raises(ConfigError, match="UPSTREAM_KEY_FOR_TEST is not set"):
        options.upstreams[0].secret()


def test_models_map_ours_to_theirs_and_pass_the_rest() -> None:
    config = parse_options(one(models={"sora-2": "wan-5b"})).upstreams[0]
    assert config.model_id("sora-2") == "wan-5b"
    assert config.model_id("sora-2-pro") == "sora-2-pro"


def resolver(table: dict[str, list[str]]) -> Any:
    return lambda host, port: table[host]


def test_private_upstreams_need_the_operator_to_allow_their_network() -> None:
    table = {"gpu-box": ["10.1.2.3"], "api.example.com": ["93.184.215.14"], "lo": ["127.0.0.1"]}
    strict = AddressRule([], resolver(table))
    strict.check_url("https://api.example.com", "upstream")
    with pytest.raises(PermissionError, match=r'allow_private = \["10.1.2.3/32"\]'):
        strict.check_url("http://gpu-box:8000", "upstream")
    allowed = AddressRule(["10.0.0.0/8"], resolver(table))
    allowed.check_url("http://gpu-box:8000", "upstream")
    with pytest.raises(PermissionError, match="loopback"):
        allowed.check_url("http://lo:8000", "upstream")


POOL_ONLY_PROBES = "the pool only probes an upstream (check); jobs are sent by the run, not here"


class FakeClient:
    """An upstream as the pool sees it: a name and a probe that can be made to fail."""

    def __init__(self, name: str, fail_checks: int = 0) -> None:
        self.name = name
        self.fail_checks = fail_checks
        self.checks = 0

    def check(self, models: list[str]) -> None:
        self.checks += 1
        if self.checks <= self.fail_checks:
            raise UpstreamUnavailable("down")

    def create(self, submission: Submission) -> RemoteJob:
        raise AssertionError(POOL_ONLY_PROBES)

    def get(self, remote_id: str) -> RemoteJob:
        raise AssertionError(POOL_ONLY_PROBES)

    def download(self, job: RemoteJob, dest: Path, max_bytes: int) -> None:
        raise AssertionError(POOL_ONLY_PROBES)

    def cancel(self, remote_id: str) -> None:
        raise AssertionError(POOL_ONLY_PROBES)

    def close(self) -> None:
        pass


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_the_least_loaded_upstream_gets_the_job_within_its_cap() -> None:
    a, b = UpstreamSlot(FakeClient("a"), 2), UpstreamSlot(FakeClient("b"), 1)
    pool = UpstreamPool([a, b], unhealthy_after=3)
    picked = [pool.try_acquire() for _ in range(3)]
    assert sorted(slot.name for slot in picked if slot) == ["a", "a", "b"]
    assert pool.try_acquire() is None  # every upstream full
    pool.release(a)
    assert pool.try_acquire() is a


def test_latency_breaks_ties() -> None:
    slow, fast = UpstreamSlot(FakeClient("slow"), 4), UpstreamSlot(FakeClient("fast"), 4)
    pool = UpstreamPool([slow, fast], unhealthy_after=3)
    pool.succeeded(slow, 2.0)
    pool.succeeded(fast, 0.1)
    assert pool.try_acquire() is fast


def test_failing_upstream_is_taken_out_then_probed_back() -> None:
    clock = Clock()
    flaky = UpstreamSlot(FakeClient("flaky", fail_checks=1), 4)
    steady = UpstreamSlot(FakeClient("steady"), 4)
    pool = UpstreamPool([flaky, steady], unhealthy_after=2, clock=clock)
    pool.succeeded(steady, 5.0)  # slower, so flaky is preferred while healthy
    pool.failed(flaky, "500")
    assert flaky.healthy
    pool.failed(flaky, "500")
    assert not flaky.healthy
    assert pool.try_acquire() is steady
    clock.now += 6  # past the cool-down: the probe fails, the cool-down doubles
    assert pool.try_acquire() is steady
    assert not flaky.healthy and flaky.cooldown == 10
    clock.now += 11  # the next probe succeeds
    assert pool.try_acquire() is flaky
    assert flaky.healthy and flaky.failures == 0


def test_a_resumed_job_is_counted_even_past_the_cap() -> None:
    slot = UpstreamSlot(FakeClient("a"), 1)
    pool = UpstreamPool([slot], unhealthy_after=3)
    assert pool.try_acquire() is slot
    pool.hold(slot)
    assert slot.in_flight == 2
    pool.release(slot)
    pool.release(slot)
    assert slot.in_flight == 0
