"""An upstream that speaks OpenAI's ``/v1/videos`` (vLLM-Omni, SGLang, another ReelForge).

Create is JSON, or multipart with the first frame as ``input_reference`` (what the official SDK
sends); every create carries an ``Idempotency-Key`` made from our job id, so a create whose
answer we lost (a crash between the upstream's answer and our commit) is not paid twice by an
upstream that honours the key.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx

from reelforge.engines.upstream.options import UpstreamConfig
from reelforge.engines.upstream.protocol import (
    RemoteJob,
    RemoteState,
    Submission,
    UpstreamLost,
    UpstreamRefused,
    UpstreamUnavailable,
    error_text,
    raise_for_answer,
    stream_to_file,
    transport_failure,
)

_STATES: dict[str, RemoteState] = {
    "queued": "queued",
    "in_progress": "running",
    "completed": "completed",
    "failed": "failed",
}


class OpenAIVideosClient:
    def __init__(self, config: UpstreamConfig, transport: httpx.BaseTransport | None = None):
        self.name = config.name
        self._config = config
        base = config.base_url.removesuffix("/v1")  # people paste the SDK's base_url
        headers = {"User-Agent": "reelforge-upstream"}
        key = config.secret()
        if key:
            headers["Authorization"] = f"Bearer {key}"
        self._http = httpx.Client(
            base_url=f"{base}/v1",
            headers=headers,
            timeout=httpx.Timeout(config.timeout_seconds, connect=min(config.timeout_seconds, 5)),
            transport=transport,
        )

    def close(self) -> None:
        self._http.close()

    def check(self, models: list[str]) -> None:
        response = self._request("GET", "/models", "answering /v1/models")
        if response.status_code in (404, 405):  # many video servers list no models
            response = self._request(
                "GET", "/videos", "answering GET /v1/videos", params={"limit": 1}
            )
            if response.status_code not in (401, 403):
                return
        raise_for_answer(self.name, "answering /v1/models", response)
        served = _model_ids(response)
        missing = [model for model in models if served and model not in served]
        if missing:
            raise UpstreamRefused(
                f"upstream {self.name!r} does not serve {', '.join(missing)} (it serves "
                f"{', '.join(sorted(served))}); fix its models mapping",
                "upstream_config",
            )

    def create(self, submission: Submission) -> RemoteJob:
        spec = submission.spec
        fields = {
            "model": self._config.model_id(submission.spec.model),
            "prompt": spec.prompt,
            "size": spec.size,
            "seconds": str(spec.seconds),
        }
        headers = {"Idempotency-Key": submission.idempotency_key}
        if submission.first_frame_png is None:
            response = self._request("POST", "/videos", "creating", json=fields, headers=headers)
        else:
            files = {
                "input_reference": ("input_reference.png", submission.first_frame_png, "image/png")
            }
            response = self._request(
                "POST", "/videos", "creating", data=fields, files=files, headers=headers
            )
        raise_for_answer(self.name, "creating a video", response)
        return self._video(response)

    def get(self, remote_id: str) -> RemoteJob:
        response = self._request("GET", f"/videos/{remote_id}", "polling")
        if response.status_code == 404:
            raise UpstreamLost(f"upstream {self.name!r} no longer knows video {remote_id}")
        raise_for_answer(self.name, f"polling {remote_id}", response)
        return self._video(response)

    def download(self, job: RemoteJob, dest: Path, max_bytes: int) -> None:
        what = f"downloading {job.id}"
        try:
            with self._http.stream(
                "GET", f"/videos/{job.id}/content", params={"variant": "video"},
                follow_redirects=True,  # a store's presigned URL; httpx drops our key there
                timeout=httpx.Timeout(300, connect=5),
            ) as response:  # fmt: skip
                if response.status_code >= 400:
                    response.read()
                if response.status_code == 404:
                    _raise_not_found(self.name, job.id, response)
                raise_for_answer(self.name, what, response)
                stream_to_file(response, dest, max_bytes, self.name)
        except httpx.HTTPError as exc:
            raise transport_failure(self.name, what, exc) from None

    def cancel(self, remote_id: str) -> None:
        response = self._request("DELETE", f"/videos/{remote_id}", "deleting")
        if response.status_code != 404:
            raise_for_answer(self.name, f"deleting {remote_id}", response)

    def _request(self, method: str, path: str, what: str, **kwargs: Any) -> httpx.Response:
        try:
            return self._http.request(method, path, **kwargs)
        except httpx.HTTPError as exc:
            raise transport_failure(self.name, what, exc) from None

    def _video(self, response: httpx.Response) -> RemoteJob:
        try:
            body = response.json()
            state = _STATES.get(str(body["status"]))
            remote_id = str(body["id"])
        except (ValueError, KeyError, TypeError):
            raise UpstreamUnavailable(
                f"upstream {self.name!r} answered {response.status_code} without a video object"
            ) from None
        error = body.get("error") if isinstance(body.get("error"), dict) else {}
        if state is None:  # e.g. "cancelled": someone else stopped it
            state = "failed"
            error = {"code": "upstream_failed", "message": f"the upstream {body['status']} it"}
        progress = body.get("progress")
        return RemoteJob(
            id=remote_id,
            state=state,
            progress=float(progress) / 100 if isinstance(progress, int | float) else None,
            error_code=str(error.get("code")) if error.get("code") else None,
            error_message=str(error.get("message")) if error.get("message") else None,
            poll_after=_poll_after(response),
        )


def _raise_not_found(name: str, video_id: str, response: httpx.Response) -> None:
    """OpenAI answers 404 ``video_not_ready`` for content asked too early: wait, not lost."""
    code, message = error_text(response)
    if code == "video_not_ready":
        raise UpstreamUnavailable(f"upstream {name!r} has no content for {video_id} yet: {message}")
    raise UpstreamLost(f"upstream {name!r} lost the video of {video_id}")


def _model_ids(response: httpx.Response) -> set[str]:
    try:
        data = response.json().get("data", [])
        return {str(item["id"]) for item in data if isinstance(item, dict) and "id" in item}
    except (ValueError, AttributeError):
        return set()


def _poll_after(response: httpx.Response) -> float | None:
    raw = response.headers.get("openai-poll-after-ms")
    try:
        return max(float(raw) / 1000, 0.0) if raw is not None else None
    except ValueError:
        return None
