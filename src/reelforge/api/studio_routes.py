"""The web studio at ``/``: plain HTML, CSS and JavaScript modules shipped in the package
(``reelforge/studio/``), with no asset from anywhere else, so it works on an offline machine.

The page talks to the public API only (``/v1/...``, with the API key a person pastes in), so
it can do nothing a client could not. The Content-Security-Policy holds it to this server:
no script, style, image or connection elsewhere, and no inline script. Assets are revalidated
on every load (``no-cache`` with an ``ETag``: a 304 costs one round trip), so an upgrade never
leaves a browser on stale modules.
"""

from __future__ import annotations

import os
from importlib.resources import files
from pathlib import Path

from fastapi import APIRouter, FastAPI
from fastapi.staticfiles import StaticFiles
from starlette.responses import FileResponse, Response
from starlette.staticfiles import PathLike
from starlette.types import Scope

STUDIO_DIR = Path(str(files("reelforge") / "studio"))
ASSETS_PATH = "/studio"
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' blob: data:; "
    "media-src 'self' blob:; connect-src 'self'; object-src 'none'; base-uri 'none'; "
    "frame-ancestors 'none'; form-action 'self'"
)
_HEADERS = {
    "Cache-Control": "no-cache",
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}

router = APIRouter(include_in_schema=False)


@router.api_route("/", methods=["GET", "HEAD"])
def studio_page() -> FileResponse:
    return FileResponse(STUDIO_DIR / "index.html", media_type="text/html", headers=_HEADERS)


class StudioAssets(StaticFiles):
    """The studio's files, each answered with the studio's headers."""

    def file_response(
        self,
        full_path: PathLike,
        stat_result: os.stat_result,
        scope: Scope,
        status_code: int = 200,
    ) -> Response:
        response = super().file_response(full_path, stat_result, scope, status_code)
        response.headers.update(_HEADERS)
        return response


def install_studio(app: FastAPI) -> None:
    app.include_router(router)
    app.mount(ASSETS_PATH, StudioAssets(directory=STUDIO_DIR), name="studio")
