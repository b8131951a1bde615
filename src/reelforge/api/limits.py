"""Refuse oversized bodies with the surface's own 413 body: from their Content-Length before
anything reads them, or, for bodies sent without a length, as soon as the bytes read pass the
limit (the error is raised inside the route, so the usual error handlers render it)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from reelforge.api.asgi import HttpMiddleware
from reelforge.api.errors import ApiError, error_response
from reelforge.domain.limits import MAX_IMAGE_BYTES, describe_size

MAX_BODY_BYTES = 16 * 1024 * 1024
"""The largest image as base64 in JSON, plus room for the other fields; past this a body is
refused up front."""


class ContentLengthLimit(HttpMiddleware):
    def __init__(self, app: ASGIApp, max_bytes: int = MAX_BODY_BYTES) -> None:
        super().__init__(app)
        self.max_bytes = max_bytes

    async def http(self, scope: Scope, receive: Receive, send: Send) -> None:
        length = _content_length(scope)
        if length is not None and length > self.max_bytes:
            error = self._too_large(f"{length / 2**20:.1f} MB")
            await error_response(Request(scope), error)(scope, receive, send)
            return
        await self.app(scope, self._counting(receive) if length is None else receive, send)

    def _counting(self, receive: Receive) -> Receive:
        seen = 0

        async def counted() -> Message:
            nonlocal seen
            message = await receive()
            seen += len(message.get("body", b""))
            if seen > self.max_bytes:
                raise self._too_large(f"over {self.max_bytes // 2**20} MB")
            return message

        return counted

    def _too_large(self, size: str) -> ApiError:
        return ApiError(
            413,
            f"the request body is {size}; the limit is {self.max_bytes // 2**20} MB "
            f"(images at most {describe_size(MAX_IMAGE_BYTES)})",
            title="Payload Too Large",
        )


def _content_length(scope: Scope) -> int | None:
    for name, value in scope["headers"]:
        if name == b"content-length":
            return int(value) if value.isdigit() else None
    return None
