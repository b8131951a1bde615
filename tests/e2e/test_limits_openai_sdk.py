"""The official openai SDK against ReelForge's 429s, on a real server on loopback.

A rate limit: the SDK waits the ``Retry-After`` it was given (here 1 s), retries once, and
the retry is admitted: one job, never two. A budget that resets hours away: ``x-should-retry:
false`` makes the SDK raise ``RateLimitError`` at once instead of retrying into the same wall.
The server runs on a fake clock that the test moves when the SDK retries, so the bucket holds
exactly what the test expects.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx2
import openai
import pytest

from tests.support.clock import FakeClock
from tests.support.live import LiveServer, running_server

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")  # the SDK's Sora notice


@pytest.fixture(scope="module")
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, clock: FakeClock) -> Iterator[LiveServer]:
    data_dir: Path = tmp_path_factory.mktemp("sdk-limits") / "data"
    with running_server(data_dir, clock=clock, embedded_workers=False) as server:
        yield server


class Recorder:
    """Records each attempt's retry count and answer; moves the clock before a retry."""

    def __init__(self, clock: FakeClock) -> None:
        self.clock = clock
        self.statuses: list[int] = []
        self.retries: list[str] = []

    def request(self, request: httpx2.Request) -> None:
        retry = request.headers.get("x-stainless-retry-count", "0")
        self.retries.append(retry)
        if retry != "0":
            self.clock.advance(1)  # the wait the SDK just slept, in the server's time

    def response(self, response: httpx2.Response) -> None:
        self.statuses.append(response.status_code)


def sdk(server: LiveServer, token: str, recorder: Recorder) -> openai.OpenAI:
    http = openai.DefaultHttpxClient(
        event_hooks={"request": [recorder.request], "response": [recorder.response]}
    )
    return openai.OpenAI(
        api_key=token, base_url=server.base_url + "/v1", http_client=http, max_retries=2
    )


def test_the_sdk_waits_out_a_rate_limit_and_creates_one_job(
    server: LiveServer, clock: FakeClock
) -> None:
    new = server.keys.create("sdk rpm", {"rpm": 60})
    recorder = Recorder(clock)
    client = sdk(server, new.token, recorder)
    for n in range(60):  # the whole burst allowance
        client.videos.create(prompt=f"a kite, take {n}", seconds="4")
    recorder.statuses.clear()
    recorder.retries.clear()
    video = client.videos.create(prompt="one more kite", seconds="4")
    assert recorder.statuses == [429, 200]
    assert recorder.retries == ["0", "1"]
    jobs = server.runtime.store.list_jobs(new.key.id, limit=100)
    assert len(jobs) == 61
    assert sum(job.spec.prompt == "one more kite" for job in jobs) == 1
    assert video.status == "queued"


def test_the_sdk_does_not_retry_a_spent_budget(server: LiveServer, clock: FakeClock) -> None:
    new = server.keys.create("sdk budget", {"daily_video_seconds": 4})
    recorder = Recorder(clock)
    client = sdk(server, new.token, recorder)
    client.videos.create(prompt="a kite", seconds="4")
    recorder.statuses.clear()
    with pytest.raises(openai.RateLimitError) as caught:
        client.videos.create(prompt="another kite", seconds="4")
    assert recorder.statuses == [429]  # no retry
    assert caught.value.code == "insufficient_quota"
    assert "daily_video_seconds = 4" in caught.value.message
    assert len(server.runtime.store.list_jobs(new.key.id, limit=10)) == 1
