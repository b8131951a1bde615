"""Responses built from what admission stored, so an idempotent replay is byte-identical."""

from __future__ import annotations

from starlette.responses import Response

from reelforge.services.admission import Admitted


def stored_response(admitted: Admitted, headers: dict[str, str] | None = None) -> Response:
    headers = dict(headers or {})
    if admitted.replayed:
        headers["Idempotent-Replayed"] = "true"
    stored = admitted.response
    return Response(
        stored.body,
        status_code=stored.status_code,
        media_type="application/json",
        headers=headers,
    )
