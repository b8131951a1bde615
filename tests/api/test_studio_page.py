"""The web studio's files: served at ``/`` and ``/studio/...`` with nothing from elsewhere (the
page works offline), held to this server by its Content-Security-Policy, revalidated by ETag.
The browser test (``tests/e2e/test_studio_browser.py``) drives the page itself."""

from __future__ import annotations

import re
from collections.abc import Iterator
from html.parser import HTMLParser

import pytest

from reelforge.api.studio_routes import STUDIO_DIR
from tests.support.apps import InProcessApp, running_app

EXTERNAL = re.compile(r"""(?:https?:)?//[a-z0-9.-]+\.[a-z]{2,}""", re.IGNORECASE)
# A namespace is a name, not a request (the favicon's SVG declares one).
NAMESPACES = ("http://www.w3.org/2000/svg",)


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[InProcessApp]:
    data_dir = tmp_path_factory.mktemp("studio") / "data"
    with running_app(data_dir, embedded_workers=False) as served:
        yield served


class References(HTMLParser):
    """Every ``src`` and ``href`` in a page."""

    def __init__(self) -> None:
        super().__init__()
        self.found: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.found += [value for name, value in attrs if name in ("src", "href") and value]


def studio_files() -> list[str]:
    return sorted(
        str(path.relative_to(STUDIO_DIR)) for path in STUDIO_DIR.rglob("*") if path.is_file()
    )


def test_the_page_is_served_at_the_root_with_a_strict_policy(app: InProcessApp) -> None:
    with app.anonymous() as http:
        page = http.get("/")
        head = http.head("/")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    policy = page.headers["content-security-policy"]
    assert "default-src 'self'" in policy and "script-src 'self'" in policy
    assert "unsafe-inline" not in policy
    assert page.headers["cache-control"] == "no-cache"
    assert "<title>ReelForge studio</title>" in page.text
    assert head.status_code == 200 and head.content == b""


def test_every_file_the_page_names_is_served_and_none_is_elsewhere(app: InProcessApp) -> None:
    parser = References()
    parser.feed((STUDIO_DIR / "index.html").read_text())
    # Relative to the page, so a proxy may serve the studio under a path prefix.
    local = [ref for ref in parser.found if ref.startswith("studio/")]
    assert len(local) >= 3  # the stylesheet, the script, the icon
    with app.anonymous() as http:
        for ref in local:
            assert http.get("/" + ref).status_code == 200, ref


@pytest.mark.parametrize("name", studio_files())
def test_no_studio_file_loads_anything_from_another_host(name: str) -> None:
    text = (STUDIO_DIR / name).read_text()
    for namespace in NAMESPACES:
        text = text.replace(namespace, "")
    assert not EXTERNAL.findall(text), name


def test_modules_import_only_studio_modules() -> None:
    for module in (STUDIO_DIR / "js").glob("*.js"):
        for target in re.findall(r"""^import .* from "([^"]+)";$""", module.read_text(), re.M):
            assert target.startswith("./") and (module.parent / target).is_file(), (module, target)


def test_assets_are_revalidated_by_etag(app: InProcessApp) -> None:
    with app.anonymous() as http:
        first = http.get("/studio/js/app.js")
        again = http.get("/studio/js/app.js", headers={"If-None-Match": first.headers["etag"]})
        missing = http.get("/studio/js/nothing.js")
    assert first.status_code == 200
    assert first.headers["content-type"].startswith(("text/javascript", "application/javascript"))
    assert first.headers["cache-control"] == "no-cache"
    assert "content-security-policy" in first.headers
    assert again.status_code == 304
    assert missing.status_code == 404
