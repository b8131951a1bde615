"""Validators of immutable media: the ETag, ``If-None-Match`` and ``If-Range`` comparisons,
and how long a client may keep a file."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from starlette.datastructures import Headers

from reelforge.api.conditional import media_etag, none_match, not_modified, range_applies
from reelforge.api.content import MAX_CACHE_SECONDS, cache_seconds

KEY = "jobs/0f7c/lease-a/video.mp4"
ETAG = media_etag(KEY, 1000)
NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


def test_the_etag_is_strong_and_names_the_key_and_size() -> None:
    assert ETAG.startswith('"') and ETAG.endswith('"') and len(ETAG) == 34
    assert media_etag(KEY, 1000) == ETAG  # every replica computes the same
    assert media_etag(KEY, 1001) != ETAG
    assert media_etag("jobs/0f7c/lease-b/video.mp4", 1000) != ETAG  # another attempt's file


@pytest.mark.parametrize(
    ("header", "fresh"),
    [
        (None, False),
        (ETAG, True),
        (f"W/{ETAG}", True),  # If-None-Match compares weakly
        (f'"other", {ETAG}', True),
        ("*", True),
        ('"other"', False),
        (ETAG.strip('"'), False),  # unquoted: not the same tag
    ],
)
def test_if_none_match(header: str | None, fresh: bool) -> None:
    headers = Headers({"if-none-match": header} if header is not None else {})
    assert none_match(headers, ETAG) is fresh


@pytest.mark.parametrize(
    ("header", "applies"),
    [
        (None, True),
        (ETAG, True),
        (f"W/{ETAG}", False),  # If-Range compares strongly
        ('"other"', False),
        ("Tue, 01 Dec 2026 12:00:00 GMT", False),  # a date: we validate by tag only
    ],
)
def test_if_range(header: str | None, applies: bool) -> None:
    headers = Headers({"if-range": header} if header is not None else {})
    assert range_applies(headers, ETAG) is applies


def test_a_304_keeps_only_what_a_cache_needs() -> None:
    sent = Headers(
        {
            "etag": ETAG,
            "cache-control": "private, max-age=60",
            "content-type": "video/mp4",
            "content-length": "1000",
            "content-disposition": 'inline; filename="video.mp4"',
        }
    )
    answer = not_modified(sent)
    assert answer.status_code == 304 and answer.body == b""
    assert dict(answer.headers) == {"etag": ETAG, "cache-control": "private, max-age=60"}


@pytest.mark.parametrize(
    ("deadlines", "seconds"),
    [
        ((), MAX_CACHE_SECONDS),
        ((None,), MAX_CACHE_SECONDS),
        ((NOW + timedelta(days=30),), MAX_CACHE_SECONDS),
        ((NOW + timedelta(minutes=10),), 600),
        ((NOW + timedelta(hours=2), NOW + timedelta(minutes=5)), 300),  # the first to come
        ((NOW - timedelta(seconds=1),), 0),  # already past: revalidate every time
    ],
)
def test_cache_lifetime_ends_with_the_first_deadline(
    deadlines: tuple[datetime | None, ...], seconds: int
) -> None:
    assert cache_seconds(NOW, *deadlines) == seconds
