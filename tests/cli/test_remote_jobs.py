"""``reelforge jobs list|show|cancel|download|watch`` against a live server (uvicorn on
loopback, testcard engine) with no workers of its own: a video stays queued until a test runs
the queue, so every state is reached on purpose. Each test uses a fresh API key, so the list
it reads holds only its own videos."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from PIL import Image

from reelforge.media import probe
from tests.support.live import LiveServer, running_server
from tests.support.remote_cli import (
    create_video,
    files_in,
    finished,
    new_key,
    one_line,
    run_queue,
    run_remote,
    start_remote,
)

MISSING = "video_" + "0" * 32
LONG_PROMPT = "A lighthouse on a rocky coast at dusk, waves breaking, gulls circling overhead"


@pytest.fixture(scope="module")
def server(
    tmp_path_factory: pytest.TempPathFactory, api_database_url: str | None
) -> Iterator[LiveServer]:
    data_dir = tmp_path_factory.mktemp("remote-jobs") / "data"
    with running_server(data_dir, database_url=api_database_url, embedded_workers=False) as live:
        yield live


@pytest.fixture
def key(server: LiveServer) -> str:
    run_queue(server)  # nothing queued by an earlier test runs ahead of this test's videos
    return new_key(server)


def listed(server: LiveServer, key: str, *args: str) -> dict[str, object]:
    outcome = run_remote(server, key, "jobs", "list", "--json", *args)
    assert outcome.code == 0 and outcome.stderr == "", outcome.stderr
    body: dict[str, object] = json.loads(outcome.stdout)
    return body


def ids(page: dict[str, object]) -> list[str]:
    data = page["data"]
    assert isinstance(data, list)
    return [video["id"] for video in data]


# -- list ----------------------------------------------------------------------------------------


def test_list_shows_the_keys_videos_newest_first_in_a_table(server: LiveServer, key: str) -> None:
    first = create_video(server, key, LONG_PROMPT, size="1280x720")
    second = create_video(server, key, "a red kite", model="sora-2-pro")
    outcome = run_remote(server, key, "jobs", "list")
    assert outcome.code == 0, outcome.stderr
    lines = outcome.stdout.splitlines()
    header = lines[0].split()
    assert header == ["id", "status", "model", "size", "seconds", "progress", "created", "prompt"]
    rows = [line.split() for line in lines if line.strip().startswith("video_")]
    assert [row[0] for row in rows] == [second, first]  # newest first
    assert rows[0][1:6] == ["queued", "#2", "sora-2-pro", "720x1280", "4"]
    assert rows[1][1:6] == ["queued", "#1", "sora-2", "1280x720", "4"]
    assert "A lighthouse on a rocky coast at dusk, …" in outcome.stdout  # an excerpt
    others = create_video(server, server.other_token, "someone else's kite")
    assert others not in run_remote(server, key, "jobs", "list").stdout


def test_list_json_pages_with_after_and_all(server: LiveServer, key: str) -> None:
    made = [create_video(server, key, f"kite number {n}") for n in range(3)]
    newest_first = made[::-1]
    first_page = listed(server, key, "--limit", "2")
    assert ids(first_page) == newest_first[:2] and first_page["has_more"] is True
    assert first_page["last_id"] == newest_first[1]
    rest = listed(server, key, "--limit", "2", "--after", str(first_page["last_id"]))
    assert ids(rest) == newest_first[2:] and rest["has_more"] is False
    assert ids(listed(server, key, "--all")) == newest_first
    assert ids(listed(server, key, "--all", "--order", "asc")) == made
    video = json.loads(run_remote(server, key, "jobs", "list", "--json").stdout)["data"][0]
    assert video["object"] == "video" and video["status"] == "queued"  # the API's own objects


def test_list_says_where_the_next_page_starts(server: LiveServer, key: str) -> None:
    made = [create_video(server, key, f"boat {n}") for n in range(2)]
    outcome = run_remote(server, key, "jobs", "list", "--limit", "1")
    assert outcome.code == 0
    assert f"jobs list --after {made[1]}" in outcome.stderr


def test_list_of_a_key_without_videos(server: LiveServer, key: str) -> None:
    outcome = run_remote(server, key, "jobs", "list")
    assert outcome.code == 0 and "no videos yet" in outcome.stdout
    assert listed(server, key)["data"] == []


# -- show, cancel, watch -------------------------------------------------------------------------


def test_show_a_queued_then_a_completed_video(server: LiveServer, key: str) -> None:
    video_id = create_video(server, key, LONG_PROMPT)
    queued = run_remote(server, key, "jobs", "show", video_id)
    assert queued.code == 0, queued.stderr
    assert "queued, next in line" in queued.stdout
    assert LONG_PROMPT in queued.stdout  # the whole prompt
    assert run_queue(server) == 1
    done = run_remote(server, key, "jobs", "show", video_id)
    assert "completed" in done.stdout and "100%" in done.stdout
    assert "4 video s" in done.stdout  # usage
    as_json = json.loads(run_remote(server, key, "jobs", "show", video_id, "--json").stdout)
    assert as_json["id"] == video_id and as_json["status"] == "completed"
    assert as_json["progress"] == 100 and as_json["completed_at"] is not None


def test_cancel_a_queued_video_then_watch_says_why_it_ended(server: LiveServer, key: str) -> None:
    video_id = create_video(server, key, "a kite in a storm")
    cancelled = run_remote(server, key, "jobs", "cancel", video_id)
    assert cancelled.code == 0, cancelled.stderr
    assert f"cancelled {video_id}" in cancelled.stderr
    shown = json.loads(run_remote(server, key, "jobs", "show", video_id, "--json").stdout)
    assert shown["status"] == "failed" and shown["error"]["code"] == "cancelled"
    watched = run_remote(server, key, "jobs", "watch", video_id)
    assert watched.code == 1 and "Traceback" not in watched.stderr
    progress, line = watched.error_lines  # the bar's last state, then why it ended
    assert progress.startswith("cancelled ")
    assert line == f"error: video {video_id} was cancelled: cancelled by request (cancelled)"
    assert run_queue(server) == 0  # it never runs


def test_cancelling_a_completed_video_is_refused(server: LiveServer, key: str) -> None:
    video_id = create_video(server, key, "a finished kite")
    run_queue(server)
    outcome = run_remote(server, key, "jobs", "cancel", video_id)
    one_line(outcome, 2, "already completed", "(409)")


def test_watch_follows_a_queued_video_until_it_completes(server: LiveServer, key: str) -> None:
    video_id = create_video(server, key, "a kite over the dunes")
    watching = start_remote(server, key, "jobs", "watch", video_id)
    try:
        assert run_queue(server) == 1  # while the watch is following it
        outcome = finished(watching)
    finally:
        watching.kill()
    assert outcome.code == 0, outcome.stderr
    assert f"completed {video_id} (720x1280, 4 s)" in outcome.stderr
    assert "Traceback" not in outcome.stderr


# -- download ------------------------------------------------------------------------------------


def test_download_streams_the_file_and_never_overwrites_unasked(
    server: LiveServer, key: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    video_id = create_video(server, key, "a kite at noon", size="1280x720")
    run_queue(server)
    target = tmp_path / "out" / "kite.mp4"
    outcome = run_remote(server, key, "jobs", "download", video_id, "-o", str(target))
    assert outcome.code == 0, outcome.stderr
    assert f"wrote {target}" in outcome.stderr
    info = probe(target)
    assert (info.width, info.height) == (1280, 720)
    assert info.duration == pytest.approx(4.0, abs=0.1)
    with server.client(key) as http:
        assert target.read_bytes() == http.get(f"/v1/videos/{video_id}/content").content

    target.write_bytes(b"keep me")
    again = run_remote(server, key, "jobs", "download", video_id, "-o", str(target))
    one_line(again, 2, f"{target} exists", "--force")
    assert target.read_bytes() == b"keep me"
    forced = run_remote(server, key, "jobs", "download", video_id, "-o", str(target), "--force")
    assert forced.code == 0 and probe(target).duration == pytest.approx(4.0, abs=0.1)
    assert files_in(target.parent) == ["kite.mp4"]  # no partial file left beside it

    monkeypatch.chdir(tmp_path)
    assert run_remote(server, key, "jobs", "download", video_id).code == 0
    assert probe(tmp_path / f"{video_id}.mp4").width == 1280  # the default name


@pytest.mark.parametrize(
    ("variant", "suffix", "image_format"),
    [
        ("thumbnail", ".webp", "WEBP"),
        ("spritesheet", ".jpg", "JPEG"),
    ],
)
def test_download_the_previews(
    server: LiveServer,
    key: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    variant: str,
    suffix: str,
    image_format: str,
) -> None:
    video_id = create_video(server, key, "a kite at sunset")
    run_queue(server)
    monkeypatch.chdir(tmp_path)
    outcome = run_remote(server, key, "jobs", "download", video_id, "--variant", variant)
    assert outcome.code == 0, outcome.stderr
    with Image.open(tmp_path / f"{video_id}{suffix}") as image:
        assert image.format == image_format


def test_download_of_a_video_still_queued_says_to_wait(
    server: LiveServer, key: str, tmp_path: Path
) -> None:
    video_id = create_video(server, key, "a kite waiting")
    target = tmp_path / "early.mp4"
    outcome = run_remote(server, key, "jobs", "download", video_id, "-o", str(target))
    one_line(outcome, 1, f"{video_id} is queued", f"reelforge jobs watch {video_id}")
    assert not target.exists() and files_in(tmp_path) == []


def test_download_of_a_cancelled_video_says_why_there_is_no_file(
    server: LiveServer, key: str, tmp_path: Path
) -> None:
    video_id = create_video(server, key, "a kite never made")
    assert run_remote(server, key, "jobs", "cancel", video_id).code == 0
    outcome = run_remote(server, key, "jobs", "download", video_id, "-o", str(tmp_path / "x.mp4"))
    one_line(outcome, 1, "was cancelled")
    assert files_in(tmp_path) == []


# -- ids that do not exist (or are another key's) -------------------------------------------------


@pytest.mark.parametrize("command", ["show", "cancel", "download", "watch"])
def test_a_missing_video_is_one_line(
    server: LiveServer, key: str, command: str, tmp_path: Path
) -> None:
    extra = ["-o", str(tmp_path / "x.mp4")] if command == "download" else []
    outcome = run_remote(server, key, "jobs", command, MISSING, *extra)
    one_line(outcome, 2, f"video {MISSING!r} does not exist")
    assert files_in(tmp_path) == []


def test_another_keys_video_is_missing_too(server: LiveServer, key: str) -> None:
    theirs = create_video(server, server.other_token, "not yours")
    outcome = run_remote(server, key, "jobs", "show", theirs)
    one_line(outcome, 2, "does not exist (or belongs to another API key)")
