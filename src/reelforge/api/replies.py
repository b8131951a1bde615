"""Responses built from what admission stored, so an idempotent replay is byte-identical."""

from __future__ import annotations

from collections.abc import Callable

from starlette.responses import Response

from reelforge.domain.jobs import Job
from reelforge.services.admission import Admitted
from reelforge.store.idempotency import StoredResponse

Render = Callable[[Job], StoredResponse]


def render_once(render: Render) -> Render:
    """``render``, computed once per job: admission renders inside the enqueue (for the
    idempotency record) and again for the reply, and with a queue position and estimates in the
    body the two must still be byte-identical (a replay returns the stored one)."""
    rendered: dict[str, StoredResponse] = {}

    def once(job: Job) -> StoredResponse:
        if job.id not in rendered:
            rendered[job.id] = render(job)
        return rendered[job.id]

    return once


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
