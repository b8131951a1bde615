"""What the studio's browser test needs: the system's Chromium driven by Playwright, a page that
may reach loopback only, a real ``reelforge serve`` process, and a place for screenshots.

Playwright's own browser builds are never downloaded: the test launches Debian's Chromium
(``apt-get install chromium``; ``REELFORGE_CHROMIUM`` names another binary). Without it or
the ``playwright`` package the tests skip; CI sets ``REELFORGE_REQUIRE_BROWSER=1`` so that a
missing browser fails instead. Screenshots go to ``REELFORGE_ARTIFACTS_DIR`` (default: a
``reelforge-artifacts`` folder in the temporary directory).
"""

from __future__ import annotations

import os
import shutil
import tempfile
from ipaddress import ip_address
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import httpx
import pytest

from reelforge.core.config import Settings
from reelforge.core.runtime import Runtime
from tests.support.outage import Served
from tests.support.s3 import free_port

if TYPE_CHECKING:
    from playwright.sync_api import Page, Route

CHROMIUM = os.environ.get("REELFORGE_CHROMIUM", "/usr/bin/chromium")
REQUIRED = os.environ.get("REELFORGE_REQUIRE_BROWSER") == "1"


def require_browser() -> None:
    """Return when Playwright and Chromium are there; else skip the module (fail it when
    ``REELFORGE_REQUIRE_BROWSER=1``)."""
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        reason = "the playwright package is not installed (pip install -e '.[dev]')"
    else:
        found = shutil.which(CHROMIUM)
        if found:
            return
        reason = f"no Chromium at {CHROMIUM} (apt-get install chromium, or set REELFORGE_CHROMIUM)"
    if REQUIRED:
        pytest.fail(f"{reason}, and REELFORGE_REQUIRE_BROWSER=1 requires it", pytrace=False)
    pytest.skip(reason, allow_module_level=True)


def artifacts_dir() -> Path:
    default = Path(tempfile.gettempdir()) / "reelforge-artifacts"
    folder = Path(os.environ.get("REELFORGE_ARTIFACTS_DIR") or default)
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def is_loopback(url: str) -> bool:
    parts = urlsplit(url)
    if parts.scheme in ("data", "blob", "about"):
        return True
    host = parts.hostname or ""
    if host == "localhost":
        return True
    try:
        return ip_address(host).is_loopback
    except ValueError:
        return False


def block_external(page: Page) -> list[str]:
    """Abort every request that leaves this machine; returns the list of those it aborted."""
    blocked: list[str] = []

    def handle(route: Route) -> None:
        if is_loopback(route.request.url):
            route.continue_()
        else:
            blocked.append(route.request.url)
            route.abort("blockedbyclient")

    page.route("**/*", handle)
    return blocked


class ServeProcess(Served):
    """``reelforge serve`` in a subprocess (its workers in their own child process, as in
    production) with a user key and an admin key."""

    def __init__(self, settings: Settings, log: Path, **env: str) -> None:
        self.runtime = Runtime.open(settings)
        self.token = self.runtime.keys.create("studio user").token
        self.admin_token = self.runtime.keys.create("studio admin", admin=True).token
        super().__init__(settings, free_port(), log, **env)

    def api(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        headers = {"Authorization": f"Bearer {self.token}"}
        return httpx.request(method, self.base_url + path, headers=headers, timeout=30, **kwargs)

    def close(self) -> None:
        super().close()
        self.runtime.close()
