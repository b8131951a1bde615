"""A throwaway PostgreSQL server of the test's own (``initdb`` in a temporary directory, on a
free loopback port) that a test may stop and start again: database outages, fault suites.

Never the machine's shared server: stopping that would break every other test. The instance
keeps its port across restarts, so clients reconnect to the same URL. PostgreSQL refuses to run
as root; when the tests run as root, the server runs as the ``postgres`` user (or the user in
``REELFORGE_TEST_PG_USER``) and its directory is handed to that user.

Without the binaries, ``pg_instance_or_skip`` skips with the reason, unless
``REELFORGE_REQUIRE_POSTGRES=1`` (CI), which turns the skip into a failure.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Literal

import pytest

from tests.support.postgres import REQUIRE_PG

StopMode = Literal["smart", "fast", "immediate"]
# Speed without changing what an outage test observes: an immediate stop kills the server, not
# the machine, so what was written to the OS survives without fsync. synchronous_commit stays
# on: off, a commit is acknowledged before its WAL is written, and a stop loses it.
FAST_SETTINGS = ("fsync=off", "full_page_writes=off")


def find_binaries() -> Path | None:
    """The directory with ``initdb`` and ``pg_ctl``: on PATH, else Debian's versioned ones."""
    initdb = shutil.which("initdb")
    if initdb and shutil.which("pg_ctl"):
        return Path(initdb).parent
    for found in sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), reverse=True):
        return Path(found).parent
    return None


def _run_as() -> pwd.struct_passwd | None:
    """The user the server runs as: None (this one) unless this process is root."""
    if os.geteuid() != 0:
        return None
    name = os.environ.get("REELFORGE_TEST_PG_USER", "postgres")
    try:
        return pwd.getpwnam(name)
    except KeyError:
        return None


def missing_reason() -> str | None:
    """Why no instance can be made here, or None."""
    if find_binaries() is None:
        return "PostgreSQL server binaries (initdb, pg_ctl) are not installed"
    if os.geteuid() == 0 and _run_as() is None:
        return "running as root, and no 'postgres' user (REELFORGE_TEST_PG_USER) to run it as"
    return None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class PgInstance:
    """``start()``, ``stop(mode)``, ``start()`` again, ``close()`` (stops it, removes it)."""

    def __init__(self, root: Path | None = None) -> None:
        bindir = find_binaries()
        if bindir is None:
            raise RuntimeError(missing_reason())
        self._bin = bindir
        self._user = _run_as()
        self.root = Path(tempfile.mkdtemp(prefix="rf-pg-", dir=root))
        self.data = self.root / "data"
        self.log = self.root / "server.log"
        self.port = _free_port()
        if self._user is not None:
            os.chown(self.root, self._user.pw_uid, self._user.pw_gid)
        self._pg("initdb", "-D", str(self.data), "-U", "postgres", "--auth=trust", "-E", "UTF8")

    @property
    def url(self) -> str:
        """A ``postgresql://`` URL (what ``REELFORGE_DATABASE_URL`` takes)."""
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def start(self) -> None:
        options = [f"-p {self.port}", "-c listen_addresses=127.0.0.1", f"-k {self.root}"]
        options += [f"-c {setting}" for setting in FAST_SETTINGS]
        self._pg(
            "pg_ctl", "start", "-w", "-t", "60", "-D", str(self.data), "-l", str(self.log),
            "-o", " ".join(options),
        )  # fmt: skip

    def stop(self, mode: StopMode = "fast") -> None:
        """``immediate``: the server exits at once, dropping every connection (a crash)."""
        self._pg("pg_ctl", "stop", "-w", "-t", "60", "-m", mode, "-D", str(self.data))

    def is_running(self) -> bool:
        status = self._pg("pg_ctl", "status", "-D", str(self.data), check=False)
        return status.returncode == 0

    def close(self) -> None:
        if self.data.exists() and self.is_running():
            self.stop("immediate")
        shutil.rmtree(self.root, ignore_errors=True)

    def _pg(self, tool: str, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        command = [str(self._bin / tool), *args]
        user = self._user
        result = subprocess.run(
            command,
            capture_output=True,
            text=True,
            timeout=120,
            user=user.pw_uid if user else None,
            group=user.pw_gid if user else None,
            extra_groups=[] if user else None,
            cwd=self.root,
        )
        if check and result.returncode != 0:
            log = self.log.read_text() if self.log.exists() else ""
            raise RuntimeError(f"{tool} {args[0]} failed: {result.stderr}{result.stdout}\n{log}")
        return result


def pg_instance_or_skip() -> None:
    """Skip (fail under ``REELFORGE_REQUIRE_POSTGRES=1``) when no instance can be made."""
    reason = missing_reason()
    if reason is None:
        return
    if REQUIRE_PG:
        pytest.fail(f"REELFORGE_REQUIRE_POSTGRES=1 but {reason}")
    pytest.skip(reason)


@contextmanager
def pg_instance(root: Path | None = None) -> Iterator[PgInstance]:
    """A started instance, stopped and removed afterwards."""
    pg_instance_or_skip()
    instance = PgInstance(root)
    try:
        instance.start()
        yield instance
    finally:
        instance.close()
