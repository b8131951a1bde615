"""Expiring HMAC-signed download links for the seed surface's ``videos`` list.

A browser's ``<video src>`` cannot send a bearer header, so each link carries its own proof:
``/files/videos/<task id>.mp4?expires=<unix s>&signature=<HMAC-SHA256(secret, "id:expires")>``.
Anyone holding the link can fetch that one video until it expires, which is what the gateway's
own one-hour links allowed. The secret comes from settings, or from a 0600 file created once in
the data directory (set ``url_signing_secret`` when several replicas must accept each other's
links).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import secrets
import time
from collections.abc import Callable
from pathlib import Path

from reelforge.core.config import Settings

SECRET_FILE = "url-signing.key"


class UrlSigner:
    """``clock``: Unix seconds (tests pass a fake one to sign and check at a chosen time)."""

    def __init__(
        self, secret: bytes, ttl_seconds: int, clock: Callable[[], float] = time.time
    ) -> None:
        self._secret = secret
        self.ttl_seconds = ttl_seconds
        self.clock = clock

    @classmethod
    def from_settings(cls, settings: Settings) -> UrlSigner:
        if settings.url_signing_secret:
            secret = settings.url_signing_secret.encode()
        else:
            secret = _load_or_create_secret(settings.data_dir / SECRET_FILE)
        return cls(secret, settings.signed_url_ttl_seconds)

    def signature(self, task_id: str, expires: int) -> str:
        mac = hmac.new(self._secret, f"{task_id}:{expires}".encode(), hashlib.sha256)
        return base64.urlsafe_b64encode(mac.digest()).rstrip(b"=").decode()

    def video_path(self, task_id: str, now: float | None = None) -> str:
        expires = int(now if now is not None else self.clock()) + self.ttl_seconds
        sig = self.signature(task_id, expires)
        return f"/files/videos/{task_id}.mp4?expires={expires}&signature={sig}"

    def check(self, task_id: str, expires: int, signature: str) -> str | None:
        """None when the link is good, else what is wrong with it."""
        expected = self.signature(task_id, expires).encode()
        if not hmac.compare_digest(expected, signature.encode()):
            return "the link's signature is not valid; take a fresh link from the task's GET"
        if expires < self.clock():
            return "the link has expired; take a fresh link from the task's GET"
        return None


def _load_or_create_secret(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    secret = secrets.token_hex(32).encode()
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process created it first: use theirs
        return path.read_bytes()
    with os.fdopen(fd, "wb") as handle:
        handle.write(secret)
    return secret
