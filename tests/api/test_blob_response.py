"""BlobResponse and its Range parsing, on a small Starlette app over a real S3 protocol server:
the cases players and download tools send, HEAD included (the API routes answer GET only)."""

from __future__ import annotations

from pathlib import Path

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.testclient import TestClient

from reelforge.api.content import BlobResponse, parse_range
from reelforge.storage.factory import open_blob_store
from tests.support.s3 import S3Bucket
from tests.support.settings import fast_settings

SIZE = 1000


@pytest.mark.parametrize(
    ("header", "span"),
    [
        (None, (0, SIZE)),
        ("bytes=0-99", (0, 100)),
        ("bytes=990-", (990, SIZE)),
        ("bytes=-10", (990, SIZE)),
        ("bytes=-5000", (0, SIZE)),
        ("bytes=900-5000", (900, SIZE)),
        ("BYTES = 5-5", (5, 6)),
        ("bytes=1000-", None),
        ("bytes=-0", None),
        # Ignored, so the whole file is sent (RFC 9110 allows it): not bytes, several ranges,
        # reversed or not numbers.
        ("items=0-1", (0, SIZE)),
        ("bytes=0-1,5-6", (0, SIZE)),
        ("bytes=50-10", (0, SIZE)),
        ("bytes=a-b", (0, SIZE)),
        ("bytes=5", (0, SIZE)),
    ],
)
def test_parse_range(header: str | None, span: tuple[int, int] | None) -> None:
    assert parse_range(header, SIZE) == span


def test_get_and_head(s3_bucket: S3Bucket, tmp_path: Path) -> None:
    blobs = open_blob_store(fast_settings(tmp_path / "data", **s3_bucket.settings()))
    data = bytes(range(256)) * 12
    blobs.put_bytes("jobs/j/t/video.mp4", data)

    def serve(request: Request) -> Response:
        return BlobResponse(blobs, "jobs/j/t/video.mp4", len(data), "video/mp4", {})

    app = Starlette(routes=[Route("/v", serve, methods=["GET", "HEAD"])])
    with TestClient(app) as http:
        head = http.head("/v")
        assert head.status_code == 200 and head.content == b""
        assert head.headers["content-length"] == str(len(data))
        assert head.headers["accept-ranges"] == "bytes"
        ranged_head = http.head("/v", headers={"Range": "bytes=10-19"})
        assert ranged_head.status_code == 206 and ranged_head.headers["content-length"] == "10"
        assert http.get("/v").content == data
        part = http.get("/v", headers={"Range": "bytes=10-19"})
        assert part.status_code == 206 and part.content == data[10:20]
        assert http.get("/v", headers={"Range": f"bytes={len(data)}-"}).status_code == 416
