"""The ``Allow`` header of a 405: every method that some route serves at the request's path.

The router answers a method that no route at the path takes with 405, and an ``Allow`` naming
the methods of the first route whose path matched (or none). Each method of a path is its own
route here (``GET /v1/videos`` and ``POST /v1/videos``), so that header hid the others from
clients (RFC 9110 section 10.2.1: ``Allow`` lists what the resource supports).
"""

from __future__ import annotations

from fastapi.routing import iter_route_contexts
from starlette.requests import Request

_ORDER = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")


def allowed_methods(request: Request) -> list[str]:
    """The methods the app serves at ``request``'s path, in a stable order."""
    path = request.scope["path"].removeprefix(request.scope.get("root_path", ""))
    methods: set[str] = set()
    # Included routers are flattened here: the app's own route list holds them unexpanded.
    for route in iter_route_contexts(request.app.router.routes):
        regex = getattr(route, "path_regex", None)
        if route.methods and regex is not None and regex.match(path):
            methods |= route.methods
    known = [method for method in _ORDER if method in methods]
    return known + sorted(methods.difference(_ORDER))
