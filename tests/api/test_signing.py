"""UrlSigner directly: a link verifies until it expires, any change to it is refused, and the
secret comes from settings or from a private file made once."""

from __future__ import annotations

import re
import stat
from pathlib import Path

import pytest

from reelforge.api.signing import SECRET_FILE, UrlSigner
from reelforge.core.config import Settings

TASK = "123e4567-e89b-12d3-a456-426614174000"
NOW = 1_800_000_000.0
LINK = re.compile(
    r"^/files/videos/(?P<task>[0-9a-f-]{36})\.mp4\?expires=(?P<expires>\d+)"
    r"&signature=(?P<signature>[A-Za-z0-9_-]+)$"
)


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def parts(path: str) -> tuple[str, int, str]:
    match = LINK.match(path)
    assert match is not None, path
    return match["task"], int(match["expires"]), match["signature"]


def test_link_expires_after_the_ttl_and_checks_until_then() -> None:
    signer = UrlSigner(b"secret", ttl_seconds=3600, clock=Clock(NOW))
    task, expires, signature = parts(signer.video_path(TASK))
    assert (task, expires) == (TASK, int(NOW) + 3600)
    assert signer.check(task, expires, signature) is None


def test_explicit_now_overrides_the_clock() -> None:
    signer = UrlSigner(b"secret", ttl_seconds=60, clock=Clock(NOW))
    assert parts(signer.video_path(TASK, now=1000.0))[1] == 1060


def test_link_is_refused_once_expired() -> None:
    clock = Clock(NOW)
    signer = UrlSigner(b"secret", ttl_seconds=3600, clock=clock)
    task, expires, signature = parts(signer.video_path(TASK))
    clock.now = expires  # the last second it is good
    assert signer.check(task, expires, signature) is None
    clock.now = expires + 1
    problem = signer.check(task, expires, signature)
    assert problem is not None and "expired" in problem


def test_tampered_signature_is_refused() -> None:
    signer = UrlSigner(b"secret", ttl_seconds=3600, clock=Clock(NOW))
    task, expires, signature = parts(signer.video_path(TASK))
    flipped = ("A" if signature[0] != "A" else "B") + signature[1:]
    problem = signer.check(task, expires, flipped)
    assert problem is not None and "signature is not valid" in problem


@pytest.mark.parametrize("field", ["task", "expires"])
def test_signature_covers_task_and_expiry(field: str) -> None:
    signer = UrlSigner(b"secret", ttl_seconds=3600, clock=Clock(NOW))
    task, expires, signature = parts(signer.video_path(TASK))
    if field == "task":
        task = "00000000-0000-0000-0000-000000000000"
    else:
        expires += 3600  # a longer life is not for the taking
    problem = signer.check(task, expires, signature)
    assert problem is not None and "signature is not valid" in problem


def test_another_secret_does_not_accept_the_link() -> None:
    ours = UrlSigner(b"secret", ttl_seconds=3600, clock=Clock(NOW))
    theirs = UrlSigner(b"other secret", ttl_seconds=3600, clock=Clock(NOW))
    assert theirs.check(*parts(ours.video_path(TASK))) is not None


def test_secret_from_settings_is_shared_by_replicas(tmp_path: Path) -> None:
    one = UrlSigner.from_settings(Settings(data_dir=tmp_path / "a", url_signing_secret="s3"))
    two = UrlSigner.from_settings(Settings(data_dir=tmp_path / "b", url_signing_secret="s3"))
    assert two.check(*parts(one.video_path(TASK))) is None
    assert not (tmp_path / "a" / SECRET_FILE).exists()


def test_secret_file_is_private_and_reused(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "data")
    first = UrlSigner.from_settings(settings)
    path = tmp_path / "data" / SECRET_FILE
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    again = UrlSigner.from_settings(settings)
    assert again.check(*parts(first.video_path(TASK))) is None
