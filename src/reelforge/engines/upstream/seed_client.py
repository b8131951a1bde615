"""An upstream that speaks the seed gateway's task API (MuleRun-style, or another ReelForge).

``POST /vendors/openai/v1/sora/generation`` answers 202 with ``task_info``; ``GET .../{id}``
is polled until ``completed`` (the video is ``videos[0]``, a URL) or ``failed`` (the reason is
``task_info.error``). The ``sora-2-pro`` sister route takes no ``model`` field. The remote id
we keep is ``<route>:<task id>`` so a resumed attempt polls the same route.

The task API has no cancel; ReelForge's own extension ``POST .../{id}/cancel`` is tried and a
gateway without it (404/405) is left to finish the task on its own.
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx

from reelforge.engines.upstream.options import UpstreamConfig
from reelforge.engines.upstream.protocol import (
    RemoteJob,
    RemoteState,
    Submission,
    UpstreamLost,
    UpstreamRefused,
    UpstreamUnavailable,
    raise_for_answer,
    stream_to_file,
    transport_failure,
)

_ROUTES = {"sora": "/vendors/openai/v1/sora/generation"}
_PRO_ROUTE = "sora-2-pro"
_STATES: dict[str, RemoteState] = {
    "pending": "queued",
    "processing": "running",
    "completed": "completed",
    "failed": "failed",
}
URLCheck = Callable[[str], None]
"""Raises when a video URL the gateway returned may not be fetched (SSRF rule)."""


class SeedTaskClient:
    def __init__(
        self,
        config: UpstreamConfig,
        check_url: URLCheck,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.name = config.name
        self._config = config
        self._base = config.base_url
        self._origin = _origin(config.base_url)
        self._check_url = check_url
        key = config.secret()
        self._auth = {"Authorization": f"Bearer {key}"} if key else {}
        self._http = httpx.Client(
            headers={"User-Agent": "reelforge-upstream"},
            timeout=httpx.Timeout(config.timeout_seconds, connect=min(config.timeout_seconds, 5)),
            transport=transport,
        )

    def close(self) -> None:
        self._http.close()

    def check(self, models: list[str]) -> None:
        # An id that cannot exist: 404 proves the route and the key; 401/403 a bad key.
        response = self._request("GET", f"{self._route_path('sora')}/ffffffff", "answering")
        if response.status_code != 404:
            raise_for_answer(self.name, "answering a task query", response)

    def create(self, submission: Submission) -> RemoteJob:
        spec = submission.spec
        model = self._config.model_id(submission.spec.model)
        route = _PRO_ROUTE if model == _PRO_ROUTE else "sora"
        body: dict[str, Any] = {"prompt": spec.prompt, "seconds": str(spec.seconds)}
        body["size"] = spec.size
        if route == "sora":
            body["model"] = model
        if submission.first_frame_png is not None:
            encoded = base64.b64encode(submission.first_frame_png).decode("ascii")
            body["image"] = f"data:image/png;base64,{encoded}"
        response = self._request(
            "POST",
            self._route_path(route),
            "creating",
            json=body,
            headers={"Idempotency-Key": submission.idempotency_key},
        )
        raise_for_answer(self.name, "creating a task", response)
        job = self._task(response, route)
        if job is None:
            raise UpstreamUnavailable(f"upstream {self.name!r} answered a create with no task")
        return job

    def get(self, remote_id: str) -> RemoteJob:
        route, task_id = _split(remote_id)
        response = self._request("GET", f"{self._route_path(route)}/{task_id}", "polling")
        if response.status_code == 404:
            raise UpstreamLost(f"upstream {self.name!r} no longer knows task {task_id}")
        raise_for_answer(self.name, f"polling {task_id}", response)
        job = self._task(response, route)
        if job is None:
            raise UpstreamUnavailable(f"upstream {self.name!r} answered without task_info")
        return job

    def download(self, job: RemoteJob, dest: Path, max_bytes: int) -> None:
        url = job.content_url
        if not url:
            raise UpstreamRefused(
                f"upstream {self.name!r} completed task {job.id} with no video URL",
                "upstream_bad_output",
            )
        url = url if urlsplit(url).scheme else f"{self._origin}{url}"
        self._check_url(url)
        # Our key goes only to the gateway itself, never to a CDN or store it links to.
        headers = self._auth if _origin(url) == self._origin else {}
        try:
            with self._http.stream(
                "GET", url, headers=headers, follow_redirects=True,
                timeout=httpx.Timeout(300, connect=5),
            ) as response:  # fmt: skip
                if response.status_code >= 400:
                    response.read()
                raise_for_answer(self.name, f"downloading {job.id}", response)
                stream_to_file(response, dest, max_bytes, self.name)
        except httpx.HTTPError as exc:
            raise transport_failure(self.name, f"downloading {job.id}", exc) from None

    def cancel(self, remote_id: str) -> None:
        route, task_id = _split(remote_id)
        path = f"{self._route_path(route)}/{task_id}/cancel"
        response = self._request("POST", path, "cancelling")
        if response.status_code not in (404, 405, 409):
            raise_for_answer(self.name, f"cancelling {task_id}", response)

    def _route_path(self, route: str) -> str:
        path = _ROUTES.get(route, f"/vendors/openai/v1/{route}/generation")
        return f"{self._base}{path}"

    def _request(self, method: str, url: str, what: str, **kwargs: Any) -> httpx.Response:
        headers = {**self._auth, **kwargs.pop("headers", {})}
        try:
            return self._http.request(method, url, headers=headers, **kwargs)
        except httpx.HTTPError as exc:
            raise transport_failure(self.name, what, exc) from None

    def _task(self, response: httpx.Response, route: str) -> RemoteJob | None:
        try:
            body = response.json()
            info = body["task_info"]
            task_id, status = str(info["id"]), str(info["status"])
        except (ValueError, KeyError, TypeError):
            return None
        state = _STATES.get(status, "failed")
        error = info.get("error") if isinstance(info.get("error"), dict) else {}
        videos = body.get("videos") or []
        return RemoteJob(
            id=f"{route}:{task_id}",
            state=state,
            error_code="upstream_failed" if state == "failed" else None,
            error_message=_error_message(error, status) if state == "failed" else None,
            content_url=str(videos[0]) if videos else None,
        )


def _error_message(error: dict[str, Any], status: str) -> str:
    detail = error.get("detail") or error.get("title") or f"the task ended {status}"
    code = error.get("code")
    return f"{detail} (gateway code {code})" if code is not None else str(detail)


def _split(remote_id: str) -> tuple[str, str]:
    route, _, task_id = remote_id.partition(":")
    return (route, task_id) if task_id else ("sora", route)


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"
