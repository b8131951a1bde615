"""The web studio in a real browser (Debian's Chromium driven by Playwright) against a real
``reelforge serve`` with workers, the network blocked past loopback: sign in, prompt guidance,
submit, live status to completed, play, gallery, cancel, a content-policy refusal in plain
words, the operator page, a phone-width screen, and ``/docs`` offline.

The engine is the testcard slowed to 0.05 s a frame, so a 4 s video takes about 5 s and a
12 s one about 15 s: long enough to cancel it while it runs. Screenshots of each view go to
``REELFORGE_ARTIFACTS_DIR`` (``tests/support/browser.py``).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from PIL import Image

from tests.support.browser import CHROMIUM, ServeProcess, artifacts_dir, block_external
from tests.support.browser import require_browser as _require_browser
from tests.support.engines import SLOW_ENGINE
from tests.support.settings import fast_settings
from tests.support.wait import wait_for

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page, Playwright

pytestmark = pytest.mark.slow

REFUSED_PROMPT = "a murder scene in a dark alley"
GOOD_PROMPT = "Wide shot of a cat chasing a red ball in a sunlit kitchen"
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}
BY = "\u00d7"  # the multiplication sign: the studio writes sizes as in print
JOB_MS = 120_000  # ms: a 4 s testcard video on a busy two-core machine, with room


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServeProcess]:
    _require_browser()
    root = tmp_path_factory.mktemp("studio")
    settings = fast_settings(root / "data", engine=SLOW_ENGINE, engine_options={"step_delay": 0.05})
    served = ServeProcess(settings, root / "serve.log")
    try:
        wait_for(served.ready, timeout=90, interval=0.1)
        yield served
    finally:
        served.close()


@pytest.fixture(scope="module")
def playwright() -> Iterator[Playwright]:
    _require_browser()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as driver:
        yield driver


@pytest.fixture(scope="module")
def browser(playwright: Playwright) -> Iterator[Browser]:
    # --no-sandbox: CI runs as root, where Chromium's sandbox refuses to start.
    launched = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
    yield launched
    launched.close()


def open_page(browser: Browser, viewport: dict[str, int]) -> tuple[Page, list[str]]:
    context = browser.new_context(viewport=viewport)  # type: ignore[arg-type]
    context.set_default_timeout(30_000)
    page = context.new_page()
    return page, block_external(page)


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    """A desktop-size page; the test fails if the studio tried to reach another host."""
    page, blocked = open_page(browser, DESKTOP)
    yield page
    page.context.close()
    assert blocked == [], f"the page tried to leave this machine: {blocked}"


def screenshot(page: Page, name: str) -> None:
    page.screenshot(path=str(artifacts_dir() / f"{name}.png"), full_page=True)


def sign_in(page: Page, server: ServeProcess, token: str | None = None) -> None:
    page.goto(server.base_url + "/")
    page.fill("#api-key", token or server.token)
    page.press("#api-key", "Enter")
    page.wait_for_selector("#view-create:not([hidden])")


def guidance(page: Page, state: str) -> list[str]:
    return page.eval_on_selector_all(
        f"#guidance li.{state}", "items => items.map(item => item.dataset.element)"
    )


def wait_for_status(page: Page, selector: str, pattern: str, timeout: int = JOB_MS) -> str:
    """Waits until the status line matches ``pattern``; returns every text it showed."""
    page.wait_for_function(
        "([selector, pattern]) => new RegExp(pattern).test("
        "document.querySelector(selector).textContent)",
        arg=[selector, pattern],
        timeout=timeout,
        polling=50,
    )
    return str(page.text_content(selector))


def follow_status(page: Page, pattern: str, timeout: int = JOB_MS) -> list[str]:
    """Every text the job's status line showed until it matched ``pattern``."""
    page.evaluate(
        """() => {
          window.seenStatus = [document.querySelector('#job-status').textContent];
          new MutationObserver(() => window.seenStatus.push(
            document.querySelector('#job-status').textContent))
            .observe(document.querySelector('#job-status'),
                     {childList: true, characterData: true, subtree: true});
        }"""
    )
    wait_for_status(page, "#job-status", pattern, timeout)
    return list(page.evaluate("() => window.seenStatus"))


def unlabelled(page: Page) -> list[str]:
    """Form fields without a label and buttons or links without a name, on the whole page."""
    return list(
        page.evaluate(
            """() => [
              ...[...document.querySelectorAll('input, select, textarea')]
                .filter(e => e.labels.length === 0 && !e.getAttribute('aria-label')),
              ...[...document.querySelectorAll('button, a')]
                .filter(e => !e.textContent.trim() && !e.getAttribute('aria-label')),
            ].map(e => e.id || e.outerHTML.slice(0, 60))"""
        )
    )


def wait_for_thumbnail(page: Page, tile: str) -> None:
    """Until the tile's thumbnail (fetched with the key) has loaded."""
    page.wait_for_function(
        "(tile) => { const img = document.querySelector(tile + ' img');"
        " return img !== null && img.complete && img.naturalWidth > 0; }",
        arg=tile,
    )


def played_seconds(page: Page, selector: str) -> dict[str, Any]:
    """Loads and plays the video at ``selector``: its duration, and how far it played."""
    page.wait_for_selector(selector, timeout=JOB_MS)
    return dict(
        page.eval_on_selector(
            selector,
            """async (video) => {
              if (video.readyState < 1) {
                await new Promise((ok, bad) => {
                  video.addEventListener('loadedmetadata', ok, {once: true});
                  video.addEventListener('error', () => bad(new Error('video error')),
                                         {once: true});
                });
              }
              video.muted = true;
              await video.play();
              await new Promise(ok => setTimeout(ok, 600));
              video.pause();
              return {duration: video.duration, played: video.currentTime};
            }""",
        )
    )


def test_sign_in_prompt_with_guidance_submit_watch_play_and_find_it_in_the_gallery(
    page: Page, server: ServeProcess
) -> None:
    page.goto(server.base_url + "/")
    page.fill("#api-key", "rf_000000000000_" + "x" * 43)
    page.press("#api-key", "Enter")
    wait_for_status(page, "#signin-error", "^Your API key was not accepted: invalid or revoked")

    sign_in(page, server)
    assert unlabelled(page) == []
    page.fill("#prompt", "a cat")
    page.wait_for_function("() => document.querySelectorAll('#guidance li').length === 5")
    wait_for(lambda: guidance(page, "named") == ["subject"], timeout=10)
    assert guidance(page, "missing") == ["shot_type", "action", "setting", "lighting"]
    assert "Describe the light" in page.inner_text("#guidance li[data-element=lighting]")

    page.fill("#prompt", GOOD_PROMPT)
    wait_for(lambda: len(guidance(page, "named")) == 5, timeout=10)
    wait_for_status(page, "#policy", "Passes the content policy")
    screenshot(page, "studio-create-desktop")

    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))
    page.focus("#submit")
    page.keyboard.press("Enter")
    seen = follow_status(page, r"^Completed\.$")
    assert any(re.match(r"^(Queued|In progress: \d+%)", text) for text in seen), seen
    assert any(re.search(r"In progress: \d+%, (generating frames|encoding)", t) for t in seen), seen
    video_id = server.api("GET", "/v1/videos?limit=1").json()["data"][0]["id"]
    # Every status came over the event stream: the page never had to poll the video.
    assert f"{server.base_url}/v1/videos/{video_id}/events" in requested
    assert f"{server.base_url}/v1/videos/{video_id}" not in requested

    video = played_seconds(page, "#job-player video")
    assert abs(video["duration"] - 4) < 0.25, video
    assert video["played"] > 0.2, video
    download = page.locator("#job-download")
    assert download.get_attribute("href", timeout=5000).startswith("blob:")  # type: ignore[union-attr]
    assert str(download.get_attribute("download")).endswith(".mp4")
    screenshot(page, "studio-video-desktop")

    page.click("#nav a[data-view=gallery]")
    tile = page.locator("#gallery .tile").first
    tile.locator(".badge", has_text="completed").wait_for()
    assert tile.locator(".tile-prompt").inner_text() == GOOD_PROMPT
    wait_for_thumbnail(page, "#gallery .tile")
    frame = tile.locator(".frame")
    box = frame.bounding_box()
    assert box is not None
    page.mouse.move(box["x"] + 5, box["y"] + box["height"] / 2)
    page.wait_for_function("() => document.querySelector('.frame.scrubbing') !== null")
    first = frame.evaluate("f => getComputedStyle(f).backgroundPosition")
    page.mouse.move(box["x"] + box["width"] - 5, box["y"] + box["height"] / 2)
    assert frame.evaluate("f => f.style.backgroundImage").startswith('url("blob:')
    assert frame.evaluate("f => getComputedStyle(f).backgroundPosition") != first
    page.mouse.move(0, 0)

    tile.locator("button.open").focus()
    page.keyboard.press("Enter")  # tiles are buttons: the keyboard opens them too
    detail = played_seconds(page, "#detail-player video")
    assert abs(detail["duration"] - 4) < 0.25, detail
    assert "4" in page.inner_text("#detail-facts")
    page.keyboard.press("Escape")
    page.wait_for_selector("#detail", state="hidden")


def test_cancel_a_running_video(page: Page, server: ServeProcess) -> None:
    sign_in(page, server)
    page.fill("#prompt", "A paper boat drifting on a pond at dawn")
    page.check("input[name=seconds][value='12']")
    page.click("#submit")
    wait_for_status(page, "#job-status", r"^In progress: \d+%")
    screenshot(page, "studio-progress-desktop")
    page.click("#job-cancel")
    wait_for_status(page, "#job-status", r"^Cancelled\.$", timeout=30_000)
    assert page.is_hidden("#job-cancel")

    listed = server.api("GET", "/v1/videos?limit=1").json()["data"][0]
    assert listed["prompt"] == "A paper boat drifting on a pond at dawn"
    assert listed["status"] == "failed" and listed["error"]["code"] == "cancelled"
    page.click("#nav a[data-view=gallery]")
    page.locator(
        f"#gallery .tile[data-id='{listed['id']}'] .badge", has_text="cancelled"
    ).wait_for()


def test_remix_and_delete_from_the_gallery(page: Page, server: ServeProcess) -> None:
    source = server.api("POST", "/v1/videos", json={"prompt": "A red kite over a park"}).json()
    wait_for(
        lambda: server.api("GET", f"/v1/videos/{source['id']}").json()["status"] == "completed",
        timeout=JOB_MS / 1000,
    )
    sign_in(page, server)
    page.click("#nav a[data-view=gallery]")
    page.locator(f"#gallery .tile[data-id='{source['id']}'] button.open").click()
    page.fill("#remix-prompt", "A blue kite over a park")
    page.click("#remix-form button[type=submit]")
    page.wait_for_selector("#view-create:not([hidden])")
    wait_for_status(page, "#job-status", r"^Completed\.$")
    remix = server.api("GET", "/v1/videos?limit=1").json()["data"][0]
    assert (remix["prompt"], remix["remixed_from_video_id"]) == (
        "A blue kite over a park",
        source["id"],
    )

    page.click("#nav a[data-view=gallery]")
    wait_for_thumbnail(page, f"#gallery .tile[data-id='{remix['id']}']")
    screenshot(page, "studio-gallery-desktop")
    page.locator(f"#gallery .tile[data-id='{remix['id']}'] button.open").click()
    page.click("#detail-delete")
    assert page.inner_text("#detail-delete") == "Confirm delete"  # one click never deletes
    page.click("#detail-delete")
    page.wait_for_selector("#detail", state="hidden")
    assert page.locator(f"#gallery .tile[data-id='{remix['id']}']").count() == 0
    assert server.api("GET", f"/v1/videos/{remix['id']}").status_code == 404


def test_a_content_policy_refusal_reads_in_plain_words(page: Page, server: ServeProcess) -> None:
    before = server.api("GET", "/v1/videos?limit=100").json()["data"]
    sign_in(page, server)
    page.fill("#prompt", REFUSED_PROMPT)
    page.wait_for_selector("#policy.refused")
    live = page.inner_text("#policy")
    assert "Refused by the content policy: prompts may not depict violence" in live
    page.click("#submit")
    error = page.locator("#create-error")
    error.wait_for()
    assert "Refused by the content policy: prompts may not depict violence" in error.inner_text()
    assert "{" not in error.inner_text()  # words, not a JSON body
    assert page.is_hidden("#job")
    assert server.api("GET", "/v1/videos?limit=100").json()["data"] == before


def test_the_first_frame_is_checked_for_its_exact_size_before_upload(
    page: Page, server: ServeProcess, tmp_path: Path
) -> None:
    wrong, right = tmp_path / "wrong.png", tmp_path / "right.png"
    Image.new("RGB", (640, 480), (40, 90, 160)).save(wrong)
    Image.new("RGB", (1280, 720), (40, 90, 160)).save(right)
    sign_in(page, server)
    page.fill("#prompt", "A paper boat on a calm lake")
    page.set_input_files("#first-frame", str(wrong))
    wait_for_status(page, "#frame-check", f"must be exactly 1280{BY}720")
    page.click("#submit")
    wait_for_status(page, "#create-error", f"must be exactly 1280{BY}720")
    page.check("input[name=size][value='720x1280']")
    wait_for_status(page, "#frame-check", f"must be exactly 720{BY}1280")

    page.check("input[name=size][value='1280x720']")
    page.set_input_files("#first-frame", str(right))
    wait_for_status(page, "#frame-check", f"1280{BY}720 matches the chosen size")
    assert page.eval_on_selector("#frame-preview", "img => img.naturalWidth") == 1280
    page.click("#submit")
    wait_for_status(page, "#job-status", r"^(Queued|In progress)")
    created = server.api("GET", "/v1/videos?limit=1").json()["data"][0]
    assert (created["prompt"], created["size"]) == ("A paper boat on a calm lake", "1280x720")
    server.api("POST", f"/v1/videos/{created['id']}/cancel")  # free the worker


def test_the_operator_page_is_for_admin_keys(page: Page, server: ServeProcess) -> None:
    sign_in(page, server)
    assert page.is_hidden("#nav-operator")
    page.click("#sign-out")
    page.wait_for_selector("#view-signin:not([hidden])")
    assert page.evaluate("() => sessionStorage.length") == 0

    sign_in(page, server, server.admin_token)
    page.click("#nav-operator")
    summary = page.locator("#operator-summary")
    summary.wait_for()
    wait_for(lambda: re.search(r"Workers alive\s*1 of", summary.inner_text()), timeout=30)
    assert SLOW_ENGINE in summary.inner_text()
    assert "alive" in page.inner_text("#operator table")
    screenshot(page, "studio-operator-desktop")


def test_the_studio_is_usable_at_phone_width(browser: Browser, server: ServeProcess) -> None:
    video = server.api("POST", "/v1/videos", json={"prompt": "A lighthouse at dusk"}).json()
    page, blocked = open_page(browser, PHONE)
    try:
        sign_in(page, server)
        page.fill("#prompt", GOOD_PROMPT)
        wait_for(lambda: len(guidance(page, "named")) == 5, timeout=10)
        assert page.evaluate("() => document.documentElement.scrollWidth") <= PHONE["width"]
        screenshot(page, "studio-create-phone")
        page.click("#nav a[data-view=gallery]")
        page.locator(
            f"#gallery .tile[data-id='{video['id']}'] .badge", has_text="completed"
        ).wait_for(timeout=JOB_MS)
        wait_for_thumbnail(page, f"#gallery .tile[data-id='{video['id']}']")
        assert page.evaluate("() => document.documentElement.scrollWidth") <= PHONE["width"]
        screenshot(page, "studio-gallery-phone")
    finally:
        page.context.close()
    assert blocked == []


def test_docs_render_with_the_network_blocked(browser: Browser, server: ServeProcess) -> None:
    page, blocked = open_page(browser, DESKTOP)
    try:
        # A page without the studio's Content-Security-Policy, so the route sees the request.
        page.goto("about:blank")
        page.evaluate("() => fetch('https://example.com/').catch(() => null)")
        assert blocked == ["https://example.com/"]  # the block works: what follows is offline
        page.goto(server.base_url + "/docs")
        title = page.locator(".swagger-ui .info .title")
        title.wait_for(timeout=30_000)
        assert "ReelForge" in title.inner_text()
        page.locator(".opblock-summary-path", has_text="/v1/prompt/check").first.wait_for()
        page.goto(server.base_url + "/redoc")
        page.locator(".api-info h1", has_text="ReelForge").wait_for(timeout=30_000)
        page.get_by_text("/v1/prompt/check").first.wait_for(state="attached")
    finally:
        page.context.close()
    assert blocked == ["https://example.com/"]
