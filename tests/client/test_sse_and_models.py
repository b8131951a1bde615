"""The client's pure parts: the Server-Sent Events reader, the server URL, and the checked
parsing of the API's objects."""

from __future__ import annotations

from typing import Any

import pytest

from reelforge.client import InvalidServerUrl, server_url
from reelforge.client.models import ShapeError, Video, VideoPage
from reelforge.client.sse import SseMessage, parse_sse

VIDEO: dict[str, Any] = {
    "id": "video_" + "a" * 32,
    "object": "video",
    "model": "sora-2",
    "status": "queued",
    "progress": 0,
    "created_at": 1_700_000_000,
    "completed_at": None,
    "expires_at": None,
    "prompt": "a kite",
    "size": "1280x720",
    "seconds": "4",
    "remixed_from_video_id": None,
    "error": None,
    "queue_position": 2,
}


def test_sse_events_data_ids_and_comments() -> None:
    lines = [
        ": keep-alive",
        "id: 7",
        "event: queued",
        'data: {"a":',
        "data: 1}",
        "retry: 2000",
        "",
        "",  # a second blank line dispatches nothing
        "event: progress",
        "data:x",  # no space after the colon
        "",
        "data: cut short",  # the stream ended before its blank line
    ]
    assert list(parse_sse(lines)) == [
        SseMessage("queued", '{"a":\n1}', "7", retry=2000),
        SseMessage("progress", "x", "7"),  # the last id persists
    ]


def test_sse_retry_belongs_to_the_event_that_sent_it() -> None:
    lines = ["retry: 2000", "data: a", "", "retry: soon", "data: b", "", "data: c", ""]
    assert [message.retry for message in parse_sse(lines)] == [2000, None, None]


def test_sse_event_without_a_name_is_a_message() -> None:
    assert list(parse_sse(["data: hi", ""])) == [SseMessage("message", "hi", None)]


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("http://127.0.0.1:8000", "http://127.0.0.1:8000"),
        (" https://videos.example.com/ ", "https://videos.example.com"),
        ("http://127.0.0.1:8000/v1", "http://127.0.0.1:8000"),
        ("http://host/prefix/v1/", "http://host/prefix"),
    ],
)
def test_server_urls(given: str, expected: str) -> None:
    assert server_url(given) == expected


@pytest.mark.parametrize("given", ["", "127.0.0.1:8000", "ws://host", "http:///path"])
def test_server_urls_refused(given: str) -> None:
    with pytest.raises(InvalidServerUrl, match="is not an http"):
        server_url(given)


def test_a_video_keeps_what_the_server_sent() -> None:
    video = Video.from_json({**VIDEO, "new_field": 1})
    assert video.queue_position == 2 and video.raw["new_field"] == 1
    assert not video.finished and not video.cancelled
    failed = Video.from_json(
        {**VIDEO, "status": "failed", "error": {"code": "cancelled", "message": "stop"}}
    )
    assert failed.finished and failed.cancelled


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        ({"object": "model"}, "expected a video object"),
        ({"progress": "10"}, "progress: expected an integer"),
        ({"progress": True}, "progress: expected an integer"),
        ({"id": None}, "id: expected a string"),
        ({"error": {"code": 1}}, "code: expected a string"),
    ],
)
def test_a_video_of_the_wrong_shape_is_refused(change: dict[str, Any], problem: str) -> None:
    with pytest.raises(ShapeError, match=problem):
        Video.from_json({**VIDEO, **change})


def test_a_page() -> None:
    page = VideoPage.from_json(
        {"object": "list", "data": [VIDEO], "first_id": "a", "last_id": "a", "has_more": False}
    )
    assert [video.id for video in page.data] == [VIDEO["id"]] and page.has_more is False
    with pytest.raises(ShapeError, match="has_more"):
        VideoPage.from_json({"object": "list", "data": [], "has_more": "no"})
    with pytest.raises(ShapeError, match="expected a JSON object"):
        VideoPage.from_json([VIDEO])
