"""Every HTTP request gets an id and a latency figure.

``RequestContext`` is the outermost middleware: it takes the client's ``X-Request-Id`` when it
is a sane token (1 to 64 of ``A-Z a-z 0-9 . _ - : / + = @``), otherwise makes one; sets it as the
log context (``reelforge.core.logs``), so every line logged for the request carries it and a job
the request creates keeps it; returns it on every response, errors included; and observes the
request's latency by route template (``/v1/videos/{video_id}``, never the raw path: ids would
make one series per video), method and status class.
"""

from __future__ import annotations

import re
import time
import uuid

from starlette.datastructures import MutableHeaders
from starlette.routing import Mount
from starlette.types import Message, Receive, Scope, Send

from reelforge.api.asgi import HttpMiddleware
from reelforge.core.logs import request_id_var

REQUEST_ID_HEADER = "X-Request-Id"
_SANE_ID = re.compile(r"^[A-Za-z0-9._\-:/+=@]{1,64}$")
UNMATCHED_ROUTE = "unmatched"
"""The route label of requests no route matched (404s for random paths: one series for all)."""


def request_id_from(value: str | None) -> str:
    """The client's id when it is a sane token, else a new one (32 hex digits)."""
    if value is not None and _SANE_ID.match(value):
        return value
    return uuid.uuid4().hex


def route_template(scope: Scope) -> str:
    """The matched route's path template; a mount's path with ``/*``; else ``unmatched``."""
    route = scope.get("route")
    if isinstance(route, Mount):
        return f"{route.path}/*"
    path = getattr(route, "path_format", None) or getattr(route, "path", None)
    return path if isinstance(path, str) and path else UNMATCHED_ROUTE


class RequestContext(HttpMiddleware):
    async def http(self, scope: Scope, receive: Receive, send: Send) -> None:
        incoming = _header(scope, b"x-request-id")
        request_id = request_id_from(incoming)
        token = request_id_var.set(request_id)
        started = time.perf_counter()
        status = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
                MutableHeaders(scope=message)[REQUEST_ID_HEADER] = request_id
                self._observe(scope, status, time.perf_counter() - started)
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            request_id_var.reset(token)

    @staticmethod
    def _observe(scope: Scope, status: int, seconds: float) -> None:
        app = scope.get("app")
        context = getattr(getattr(app, "state", None), "context", None)
        metrics = getattr(context, "metrics", None)
        if metrics is not None:
            metrics.http_request(route_template(scope), scope["method"], status, seconds)


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", ()):
        if key.lower() == name:
            try:
                return str(value.decode("latin-1"))
            except UnicodeDecodeError:
                return None
    return None
