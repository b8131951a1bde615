"""API reference pages that work offline: Swagger UI at ``/docs`` and ReDoc at ``/redoc``,
their scripts and styles served from this server (the ``fastapi-offline`` package ships them),
never from a CDN, so a GPU box without internet still shows its reference. ``TAGS`` groups
the operations: the two API surfaces apart, then what both share."""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path
from typing import Any

from fastapi import APIRouter, FastAPI, Request
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.staticfiles import StaticFiles
from starlette.responses import HTMLResponse

DOCS_PATH = "/docs"
REDOC_PATH = "/redoc"
ASSETS_PATH = "/docs/assets"
ASSETS_DIR = Path(str(files("fastapi_offline") / "static"))
"""``swagger-ui-bundle.js``, ``swagger-ui.css``, ``redoc.standalone.js``, ``favicon.png``."""

SEED_TAG = "Seed task API"
OPENAI_TAG = "OpenAI videos API"
EVENTS_TAG = "Events"
TAGS: list[dict[str, Any]] = [
    {
        "name": SEED_TAG,
        "description": "The MuleRun-style gateway surface: create a task with `POST "
        "/vendors/openai/v1/sora/generation` (or the `sora-2-pro` sister path), poll it by id, "
        "and download the MP4 through the signed link in `videos` (no header needed). Errors "
        "have the gateway's shape (`status`, `title`, `detail`, `error_code`).",
    },
    {
        "name": OPENAI_TAG,
        "description": "OpenAI's `/v1/videos`, as the official `openai` SDKs call it: create "
        "(JSON or multipart with a first frame), retrieve, list, remix, cancel, delete, and "
        "download the video, its thumbnail or its spritesheet. Errors have OpenAI's shape "
        "(`error.message`, `type`, `param`, `code`).",
    },
    {
        "name": EVENTS_TAG,
        "description": "Live status of one job as Server-Sent Events, on either surface: "
        "queue position, progress and phase until it completes, fails or is cancelled. "
        "Reconnect with `Last-Event-ID` to resume.",
    },
    {
        "name": "Webhooks",
        "description": "Endpoints that receive signed Standard Webhooks deliveries for your "
        "key's videos, and the secret that signs deliveries to a create's own `webhook_url`.",
    },
    {
        "name": "Usage",
        "description": "What your key used per UTC day and model, and its limits in force.",
    },
    {
        "name": "Prompt tools",
        "description": "Help before a create: which elements of an effective prompt (shot "
        "type, subject, action, setting, lighting) a prompt names and what to add, and a "
        "dry-run of a create's checks (validation, model allowlist, content policy).",
    },
    {
        "name": "Operator",
        "description": "For operators (an admin key): the queue, the workers alive, the "
        "engine and model they loaded, GPU memory when known.",
    },
    {
        "name": "Health",
        "description": "Liveness and readiness probes for load balancers and orchestrators; "
        "no API key needed.",
    },
]
# Offline: no validator badge (it would ask validator.swagger.io about the document).
_SWAGGER_PARAMETERS = {"validatorUrl": None}
# The browser itself keeps the pages on this server: ReDoc's footer would fetch its logo from
# a CDN. Inline script and styles: the pages' own start-up code and the UIs' computed styles;
# blob: workers: ReDoc's search index.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; font-src 'self' data:; worker-src 'self' blob:; "
    "connect-src 'self'; frame-ancestors 'self'"
)

router = APIRouter(include_in_schema=False)


@router.get(DOCS_PATH)
def swagger_ui(request: Request) -> HTMLResponse:
    root = _root(request)
    page = get_swagger_ui_html(
        openapi_url=root + request.app.openapi_url,
        title=f"{request.app.title} API reference",
        swagger_js_url=f"{root}{ASSETS_PATH}/swagger-ui-bundle.js",
        swagger_css_url=f"{root}{ASSETS_PATH}/swagger-ui.css",
        swagger_favicon_url=f"{root}{ASSETS_PATH}/favicon.png",
        swagger_ui_parameters=_SWAGGER_PARAMETERS,
    )
    return _local_only(page)


@router.get(REDOC_PATH)
def redoc(request: Request) -> HTMLResponse:
    root = _root(request)
    page = get_redoc_html(
        openapi_url=root + request.app.openapi_url,
        title=f"{request.app.title} API reference",
        redoc_js_url=f"{root}{ASSETS_PATH}/redoc.standalone.js",
        redoc_favicon_url=f"{root}{ASSETS_PATH}/favicon.png",
        with_google_fonts=False,
    )
    return _local_only(page)


def install_docs(app: FastAPI) -> None:
    """The pages and their assets (``StaticFiles``: ETag, 304 and HEAD included). Install
    before anything mounted at ``/``, which would otherwise take these paths."""
    app.include_router(router)
    app.mount(ASSETS_PATH, StaticFiles(directory=ASSETS_DIR), name="docs-assets")


def _local_only(page: HTMLResponse) -> HTMLResponse:
    page.headers["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
    return page


def _root(request: Request) -> str:
    """The prefix a proxy serves this app under (``--root-path``), so links still resolve."""
    return str(request.scope.get("root_path", "")).rstrip("/")
