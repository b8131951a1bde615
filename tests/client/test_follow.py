"""``ReelForgeClient.follow`` against a live server: the event stream to the end, resumed
from the last event id when the connection drops, and polling when a proxy hides the stream.
The requests are real; the transports in between only cut or hide what the server sent, as a
flaky network or a restrictive proxy would."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from reelforge.client import CreateVideo, NotFoundError, ReelForgeClient, Video
from tests.support.live import LiveServer

MISSING = "video_" + "0" * 32


class FirstEventOnly(httpx.SyncByteStream):
    """Passes one event on, then fails as a dropped connection does."""

    def __init__(self, inner: httpx.SyncByteStream) -> None:
        self.inner = inner

    def __iter__(self) -> Iterator[bytes]:
        seen = b""
        for chunk in self.inner:
            seen += chunk
            data = seen.find(b"data:")
            for blank in (b"\r\n\r\n", b"\n\n"):  # sse-starlette ends lines with CRLF
                end = seen.find(blank, data) if data >= 0 else -1
                if end >= 0:
                    yield seen[: end + len(blank)]
                    raise httpx.ReadError("connection reset by peer")
        yield seen

    def close(self) -> None:
        self.inner.close()


class RealHttp(httpx.BaseTransport):
    """Real HTTP; the transports below change what the event stream answers."""

    def __init__(self) -> None:
        self.inner = httpx.HTTPTransport()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        return self.inner.handle_request(request)

    def close(self) -> None:
        self.inner.close()


class CuttingTransport(RealHttp):
    """Real HTTP; each event stream is cut after its first event."""

    def __init__(self) -> None:
        super().__init__()
        self.resumed_after: list[str | None] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = super().handle_request(request)
        if request.url.path.endswith("/events"):
            self.resumed_after.append(request.headers.get("last-event-id"))
            assert isinstance(response.stream, httpx.SyncByteStream)
            response.stream = FirstEventOnly(response.stream)
        return response


class NoEventStream(RealHttp):
    """Real HTTP, except that the event stream is not found (an older server, a proxy)."""

    def __init__(self) -> None:
        super().__init__()
        self.retrieves = 0

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/events"):
            body = {"error": {"message": "Not Found", "type": "invalid_request_error"}}
            return httpx.Response(404, json=body)
        self.retrieves += request.method == "GET"
        return super().handle_request(request)


def submit(client: ReelForgeClient) -> str:
    return client.create(CreateVideo("a kite over the bay", seconds=4)).id


def assert_reaches_completed(states: list[Video]) -> None:
    assert states[-1].status == "completed" and states[-1].progress == 100
    progress = [state.progress for state in states]
    assert progress == sorted(progress)


def test_follow_streams_until_completed(live_server: LiveServer) -> None:
    with ReelForgeClient(live_server.base_url, live_server.token) as client:
        states = list(client.follow(submit(client)))
    assert_reaches_completed(states)
    assert states[0].status in ("queued", "in_progress")


def test_a_dropped_stream_is_resumed_from_the_last_event(live_server: LiveServer) -> None:
    transport = CuttingTransport()
    with ReelForgeClient(live_server.base_url, live_server.token, transport=transport) as client:
        states = list(client.follow(submit(client)))
    assert_reaches_completed(states)
    assert len(transport.resumed_after) > 1
    first, *resumed = transport.resumed_after
    assert first is None and all(seq is not None and seq.isdigit() for seq in resumed)


def test_without_an_event_stream_it_polls(live_server: LiveServer) -> None:
    transport = NoEventStream()
    with ReelForgeClient(live_server.base_url, live_server.token, transport=transport) as client:
        client.poll_seconds = 0.2
        states = list(client.follow(submit(client)))
    assert_reaches_completed(states)
    assert transport.retrieves == len(states) > 1


def test_following_a_missing_video_is_not_found(live_server: LiveServer) -> None:
    plain = ReelForgeClient(live_server.base_url, live_server.token)
    hidden = ReelForgeClient(live_server.base_url, live_server.token, transport=NoEventStream())
    for client in (plain, hidden):
        with client, pytest.raises(NotFoundError, match="does not exist"):
            list(client.follow(MISSING))
