from __future__ import annotations

from pathlib import Path

import pytest

from reelforge.domain.errors import ConfigError
from reelforge.storage import LocalBlobStore


def test_put_open_list_and_delete(tmp_path: Path) -> None:
    store = LocalBlobStore(tmp_path / "media")
    store.put_bytes("jobs/a/t1/video.mp4", b"video")
    source = tmp_path / "thumb.webp"
    source.write_bytes(b"thumb")
    store.put_file("jobs/a/t1/thumbnail.webp", source)
    assert store.size("jobs/a/t1/video.mp4") == 5
    with store.open("jobs/a/t1/thumbnail.webp") as handle:
        assert handle.read() == b"thumb"
    assert list(store.list_prefix("jobs/a")) == ["jobs/a/t1/thumbnail.webp", "jobs/a/t1/video.mp4"]
    assert store.delete_prefix("jobs/a/t1") == 2
    assert not store.exists("jobs/a/t1/video.mp4")


def test_writes_leave_no_temp_files(tmp_path: Path) -> None:
    store = LocalBlobStore(tmp_path)
    store.put_bytes("k/v.bin", b"x" * 1000)
    store.put_bytes("k/v.bin", b"y" * 10)
    assert sorted(p.name for p in (tmp_path / "k").iterdir()) == ["v.bin"]
    assert store.size("k/v.bin") == 10


@pytest.mark.parametrize("key", ["../escape", "/abs/path", "a/../../b", "", ".."])
def test_keys_cannot_escape_the_root(tmp_path: Path, key: str) -> None:
    with pytest.raises(ValueError, match="invalid blob key"):
        LocalBlobStore(tmp_path).put_bytes(key, b"x")


def test_unwritable_root_is_a_config_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(ConfigError, match="REELFORGE_MEDIA_DIR"):
        LocalBlobStore(blocker / "media").check_writable()
