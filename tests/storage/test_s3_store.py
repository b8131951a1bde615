"""S3BlobStore against a real S3 protocol server on loopback (moto's server mode over HTTP):
the BlobStore contract, multipart uploads, paginated listing and batch deletes, presigned
URLs, and the one-line start-up errors."""

from __future__ import annotations

import os
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest

from reelforge.core.config import Settings, load_settings
from reelforge.core.runtime import Runtime
from reelforge.domain.errors import ConfigError
from reelforge.storage.factory import open_blob_store
from reelforge.storage.local import LocalBlobStore
from reelforge.storage.location import parse_blob_url
from reelforge.storage.s3 import S3BlobStore
from tests.support.s3 import S3Bucket, S3Server, free_port
from tests.support.settings import fast_settings


def _store(bucket: S3Bucket, tmp_path: Path, **kwargs: Any) -> S3BlobStore:
    settings = fast_settings(tmp_path / "data", **bucket.settings())
    store = open_blob_store(settings)
    assert isinstance(store, S3BlobStore)
    if kwargs:
        store = S3BlobStore(store.client, store.location, **kwargs)
    return store


@pytest.fixture
def store(s3_bucket: S3Bucket, tmp_path: Path) -> S3BlobStore:
    return _store(s3_bucket, tmp_path)


def _count_calls(store: S3BlobStore, operation: str) -> list[int]:
    """Counts the requests of one S3 operation the store's client sends (a botocore event
    hook: the requests still go to the server)."""
    calls: list[int] = []
    store.client.meta.events.register(f"before-call.s3.{operation}", lambda **_: calls.append(1))
    return calls


def test_contract_round_trip(store: S3BlobStore, s3_bucket: S3Bucket, tmp_path: Path) -> None:
    store.check_writable()
    store.put_bytes("inputs/j1/first_frame.png", b"frame")
    source = tmp_path / "video.mp4"
    source.write_bytes(b"0123456789" * 1000)
    store.put_file("jobs/j1/t1/video.mp4", source)
    # Keys live under the URL's prefix; nothing else (no probe object) is left behind.
    assert sorted(s3_bucket.object_keys()) == [
        "media/inputs/j1/first_frame.png",
        "media/jobs/j1/t1/video.mp4",
    ]
    assert store.exists("jobs/j1/t1/video.mp4") and not store.exists("jobs/j1/t1/other.mp4")
    assert store.size("jobs/j1/t1/video.mp4") == 10_000
    with store.open("inputs/j1/first_frame.png") as handle:
        assert handle.read() == b"frame"
    with store.open_range("jobs/j1/t1/video.mp4", 5, 25) as handle:
        assert handle.read() == source.read_bytes()[5:25]
    assert store.local_path("jobs/j1/t1/video.mp4") is None
    assert list(store.list_prefix("jobs/j1")) == ["jobs/j1/t1/video.mp4"]
    head = s3_bucket.client.head_object(Bucket=s3_bucket.name, Key="media/jobs/j1/t1/video.mp4")
    assert head["ContentType"] == "video/mp4"
    store.remove_job("j1")
    assert s3_bucket.object_keys() == []


def test_missing_keys_and_invalid_keys(store: S3BlobStore) -> None:
    for read in (
        lambda: store.open("jobs/none/t/video.mp4"),
        lambda: store.open_range("jobs/none/t/video.mp4", 0, 10),
        lambda: store.size("jobs/none/t/video.mp4"),
    ):
        with pytest.raises(FileNotFoundError):
            read()
    assert store.delete_prefix("jobs/none") == 0
    assert list(store.list_prefix("jobs/none")) == []
    for bad in ("", "/abs", "a/../b", "./a"):
        with pytest.raises(ValueError, match="invalid blob key"):
            store.put_bytes(bad, b"x")


def test_prefixes_keep_stores_apart(s3_bucket: S3Bucket, tmp_path: Path) -> None:
    first = _store(s3_bucket, tmp_path)
    other = S3BlobStore(first.client, parse_blob_url(f"s3://{s3_bucket.name}/other"))
    first.put_bytes("jobs/j/t/video.mp4", b"first")
    other.put_bytes("jobs/j/t/video.mp4", b"other")
    # "jobs/j" must not match "jobs/j2": listing is by whole path segments.
    first.put_bytes("jobs/j2/t/video.mp4", b"neighbour")
    assert list(first.list_prefix("jobs/j")) == ["jobs/j/t/video.mp4"]
    assert first.delete_prefix("jobs/j") == 1
    with other.open("jobs/j/t/video.mp4") as handle:
        assert handle.read() == b"other"
    assert first.exists("jobs/j2/t/video.mp4")


def test_large_files_go_up_in_parts(s3_bucket: S3Bucket, tmp_path: Path) -> None:
    store = _store(s3_bucket, tmp_path, multipart_chunk=5 << 20)
    source = tmp_path / "big.mp4"
    source.write_bytes(os.urandom(12 << 20))
    parts = _count_calls(store, "UploadPart")
    completes = _count_calls(store, "CompleteMultipartUpload")
    store.put_file("jobs/j/t/video.mp4", source)
    assert (len(parts), len(completes)) == (3, 1)  # 5 + 5 + 2 MiB
    head = s3_bucket.client.head_object(Bucket=s3_bucket.name, Key="media/jobs/j/t/video.mp4")
    assert head["ETag"].strip('"').endswith("-3")  # S3's mark of a multipart object
    with store.open("jobs/j/t/video.mp4") as handle:
        assert handle.read() == source.read_bytes()


def _put_many(store: S3BlobStore, prefix: str, count: int) -> None:
    with ThreadPoolExecutor(16) as pool:
        list(pool.map(lambda i: store.put_bytes(f"{prefix}/k{i:05d}", b"x"), range(count)))


def test_listing_and_deleting_page_by_page(s3_bucket: S3Bucket, tmp_path: Path) -> None:
    store = _store(s3_bucket, tmp_path, page_size=100)
    _put_many(store, "jobs/j", 250)
    lists = _count_calls(store, "ListObjectsV2")
    assert len(list(store.list_prefix("jobs/j"))) == 250
    assert len(lists) == 3
    deletes = _count_calls(store, "DeleteObjects")
    assert store.delete_prefix("jobs/j") == 250
    assert len(deletes) == 3 and s3_bucket.object_keys() == []


def test_more_than_one_delete_batch_at_the_default_page_size(store: S3BlobStore) -> None:
    _put_many(store, "jobs/many", 1001)
    deletes = _count_calls(store, "DeleteObjects")
    assert store.delete_prefix("jobs/many") == 1001
    assert len(deletes) == 2  # DeleteObjects takes 1000 keys at most
    assert list(store.list_prefix("jobs/many")) == []


def test_presigned_url_serves_the_bytes_with_our_headers(store: S3BlobStore) -> None:
    store.put_bytes("jobs/j/t/video.mp4", b"movie bytes")
    url = store.presigned_url("jobs/j/t/video.mp4", 60, "video.mp4", "video/mp4")
    response = httpx.get(url)
    assert response.status_code == 200 and response.content == b"movie bytes"
    assert response.headers["content-type"] == "video/mp4"
    assert response.headers["content-disposition"] == 'inline; filename="video.mp4"'
    assert LocalBlobStore(Path("unused")).presigned_url("k", 60, "v.mp4", "video/mp4") is None


def test_store_outage_is_an_os_error(tmp_path: Path) -> None:
    with S3Server() as server:
        store = _store(server.bucket(), tmp_path)
        store.put_bytes("jobs/j/t/video.mp4", b"x")
    with pytest.raises(OSError, match="S3 put"):
        store.put_bytes("jobs/j/t/thumbnail.webp", b"y")
    source = tmp_path / "video.mp4"
    source.write_bytes(b"v" * 1000)
    with pytest.raises(OSError, match="S3 upload"):
        store.put_file("jobs/j/t/video.mp4", source)
    with pytest.raises(OSError, match="S3 get"):
        store.open("jobs/j/t/video.mp4")
    with pytest.raises(OSError, match="S3 list"):
        store.delete_prefix("jobs/j")


# -- configuration --------------------------------------------------------------------------


def test_missing_bucket_fails_with_one_line(s3_server: S3Server, tmp_path: Path) -> None:
    bucket = S3Bucket(s3_server, "rf-no-such-bucket")
    with pytest.raises(ConfigError, match="bucket 'rf-no-such-bucket' does not exist") as info:
        _store(bucket, tmp_path).check_writable()
    assert "\n" not in str(info.value)


def test_unreachable_endpoint_fails_fast(s3_bucket: S3Bucket, tmp_path: Path) -> None:
    dead = f"http://127.0.0.1:{free_port()}"
    settings = fast_settings(tmp_path / "data", **s3_bucket.settings(s3_endpoint_url=dead))
    with pytest.raises(ConfigError, match=r"unreachable.*REELFORGE_S3_ENDPOINT_URL"):
        Runtime.open(settings)
    assert not (tmp_path / "data" / "reelforge.db").exists()  # failed before the database


@pytest.fixture(scope="module")
def auth_server() -> Iterator[S3Server]:
    with S3Server(auth=True) as server:
        yield server


def test_refused_credentials_fail_without_echoing_the_secret(
    auth_server: S3Server, tmp_path: Path
) -> None:
    bucket = S3Bucket(auth_server, "rf-auth")
    secret = "do-not-print-this-secret"
    settings = fast_settings(
        tmp_path / "data",
        **bucket.settings(s3_access_key_id="AKIAUNKNOWN0000000", s3_secret_access_key=secret),
    )
    with pytest.raises(ConfigError, match="refused the credentials") as info:
        open_blob_store(settings).check_writable()
    assert secret not in str(info.value) and "AKIAUNKNOWN" not in str(info.value)
    assert secret not in repr(settings) and secret not in str(settings.model_dump())


def test_runtime_opens_the_s3_store(s3_bucket: S3Bucket, tmp_path: Path) -> None:
    runtime = Runtime.open(fast_settings(tmp_path / "data", **s3_bucket.settings()))
    try:
        assert isinstance(runtime.blobs, S3BlobStore)
        assert runtime.blobs.location == parse_blob_url(s3_bucket.url)
    finally:
        runtime.close()
    assert not (tmp_path / "data" / "media").exists()  # nothing written locally


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"REELFORGE_BLOB_URL": "https://bucket/x"}, "scheme 'https' is not supported"),
        ({"REELFORGE_BLOB_URL": "s3://"}, "is not a bucket name"),
        ({"REELFORGE_BLOB_URL": "s3://AKIA9:hunter2@bucket/x"}, "credentials and endpoints go"),
        ({"REELFORGE_BLOB_DOWNLOADS": "redirect"}, "needs an S3 store"),
        (
            {"REELFORGE_BLOB_URL": "s3://bucket", "REELFORGE_S3_ACCESS_KEY_ID": "AKIA1"},
            "together",
        ),
    ],
)
def test_bad_settings_are_one_line_config_errors(
    env: dict[str, str], message: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError, match=message) as info:
        load_settings(data_dir=tmp_path)
    assert "\n" not in str(info.value) and "hunter2" not in str(info.value)


def test_unset_blob_url_keeps_the_local_store(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, blob_url="  ")
    assert settings.blob_url is None
    assert isinstance(open_blob_store(settings), LocalBlobStore)


def test_standard_aws_variables_are_honoured(
    s3_bucket: S3Bucket, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With only REELFORGE_BLOB_URL set, boto3 finds the endpoint, keys and region itself."""
    from tests.support.s3 import ACCESS_KEY, REGION, SECRET_KEY

    for name, value in {
        "AWS_ENDPOINT_URL": s3_bucket.endpoint,
        "AWS_ACCESS_KEY_ID": ACCESS_KEY,
        "AWS_SECRET_ACCESS_KEY": SECRET_KEY,
        "AWS_DEFAULT_REGION": REGION,
        "AWS_CONFIG_FILE": str(tmp_path / "no-config"),
        "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "no-credentials"),
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    store = open_blob_store(Settings(data_dir=tmp_path, blob_url=s3_bucket.url))
    store.check_writable()
    store.put_bytes("inputs/j/first_frame.png", b"png")
    assert s3_bucket.object_keys() == ["media/inputs/j/first_frame.png"]


def test_presigned_urls_use_the_public_endpoint(s3_bucket: S3Bucket, tmp_path: Path) -> None:
    public = "https://media.example.com"
    settings = Settings(data_dir=tmp_path, **s3_bucket.settings(s3_presign_endpoint_url=public))
    url = open_blob_store(settings).presigned_url("jobs/j/t/video.mp4", 60, "v.mp4", "video/mp4")
    assert url is not None and url.startswith(f"{public}/{s3_bucket.name}/media/jobs/j/t/")
