"""A newcomer's first ``reelforge serve`` ends with a working API key, shown safely.

When the database has never had a key, one is created and its token written to
``<data_dir>/first-api-key.txt`` with mode 0600 (readable by the owner only); the log names
the file, never the token, so the secret does not end up in log collectors.
"""

from __future__ import annotations

import logging
import os

from reelforge.core.config import Settings
from reelforge.store.keys import KeyStore

log = logging.getLogger(__name__)

FIRST_KEY_FILE = "first-api-key.txt"


def ensure_first_key(settings: Settings, keys: KeyStore) -> None:
    if keys.list():
        return
    new = keys.create("first key (created by reelforge serve)")
    path = settings.data_dir / FIRST_KEY_FILE
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(new.token + "\n")
    os.chmod(path, 0o600)
    log.warning(
        "no API key existed, so one was created (id %s); its token is in %s (mode 0600). "
        "Use it as `Authorization: Bearer <token>`, then delete the file. "
        "Manage keys with `reelforge keys create|list|revoke`.",
        new.key.id,
        path,
    )
