"""Cross-origin browser access (CORS) for the origins the operator configured, none by default:
a page served elsewhere (a studio on another host, a dev server) may then call the API."""

from __future__ import annotations

from fastapi import FastAPI
from starlette.middleware.cors import CORSMiddleware

from reelforge.net.origins import ANY_ORIGIN

# What a page's script may read from our answers besides the CORS-safelisted ones: polling and
# retry advice, which limit refused, ranges and validators for media, the request id.
EXPOSED_HEADERS = (
    "openai-poll-after-ms",
    "Retry-After",
    "retry-after-ms",
    "x-reelforge-limit",
    "x-should-retry",
    "Content-Disposition",
    "Content-Range",
    "Accept-Ranges",
    "ETag",
    "X-Request-Id",
)
CORS_METHODS = ("GET", "HEAD", "POST", "DELETE")
PREFLIGHT_MAX_AGE_SECONDS = 600


def install_cors(app: FastAPI, origins: list[str]) -> None:
    """Answer preflights and mark answers for ``origins``; nothing at all without any (a
    preflight then is an ``OPTIONS`` the routes refuse with 405). Any request header may be
    sent (the openai SDK sends its own ``x-stainless-*``); credentials are bearer keys, never
    cookies, so ``Access-Control-Allow-Credentials`` is not sent."""
    if not origins:
        return
    app.add_middleware(
        CORSMiddleware,
        allow_origins=[ANY_ORIGIN] if ANY_ORIGIN in origins else origins,
        allow_methods=CORS_METHODS,
        allow_headers=["*"],
        expose_headers=EXPOSED_HEADERS,
        max_age=PREFLIGHT_MAX_AGE_SECONDS,
    )
