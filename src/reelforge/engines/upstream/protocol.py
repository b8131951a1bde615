"""What the engine knows of a job on an upstream server, and how talking to one can fail.

The two wire protocols (``openai_client``, ``seed_client``) both answer with a ``RemoteJob`` and
raise one of three errors, which the engine treats differently:

- ``UpstreamUnavailable``: 5xx, 429, timeouts, refused connections, a bad key: try again later
  (or on another upstream); the upstream's health suffers.
- ``UpstreamRefused``: the upstream said no to this request (4xx, a moderation refusal): the
  job fails with the upstream's reason; retrying cannot help.
- ``UpstreamLost``: the upstream does not know the job (404 after its own restart, as servers
  that keep jobs in memory do): submit it again.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, Protocol

import httpx

from reelforge.domain.errors import EngineError
from reelforge.domain.specs import GenerationSpec

RemoteState = Literal["queued", "running", "completed", "failed"]
MAX_MESSAGE_CHARS = 300
"""An upstream's error text is quoted up to this length (never its headers or our key)."""


@dataclass(frozen=True, slots=True)
class RemoteJob:
    id: str
    state: RemoteState
    progress: float | None = None
    """0..1 when the upstream reports it."""
    error_code: str | None = None
    error_message: str | None = None
    content_url: str | None = None
    """Where the finished video is, when the protocol gives a URL (the seed's ``videos[0]``)."""
    poll_after: float | None = None
    """Seconds the upstream asked us to wait before the next poll (``openai-poll-after-ms``)."""


@dataclass(frozen=True, slots=True)
class Submission:
    """What one create sends: the spec (its model is ours: each client maps it to the
    upstream's id), a PNG first frame if any, and the idempotency key."""

    spec: GenerationSpec
    first_frame_png: bytes | None
    idempotency_key: str


class UpstreamUnavailable(Exception):
    """The upstream could not answer now; the message is safe to log and show."""


class UpstreamAuthError(UpstreamUnavailable):
    """The upstream refused our key (401/403): a configuration mistake, not an outage."""


class UpstreamLost(Exception):
    """The upstream does not know the job (any more)."""


class UpstreamRefused(EngineError):
    """The upstream refused the request for good; ``code`` goes on our failed job."""

    def __init__(self, message: str, code: str = "upstream_refused") -> None:
        super().__init__(message)
        self.code = code


class UpstreamGaveUp(EngineError):
    """The engine stopped trying (no upstream reachable, too slow, lost too often)."""

    def __init__(self, message: str, code: str = "upstream_unavailable") -> None:
        super().__init__(message)
        self.code = code


class UpstreamClient(Protocol):
    """One upstream server, spoken to in its protocol."""

    name: str

    def check(self, models: list[str]) -> None:
        """Reachable, our key accepted, ``models`` served; else ``UpstreamUnavailable`` /
        ``UpstreamRefused`` saying which."""

    def create(self, submission: Submission) -> RemoteJob: ...

    def get(self, remote_id: str) -> RemoteJob: ...

    def download(self, job: RemoteJob, dest: Path, max_bytes: int) -> None:
        """Write the finished video to ``dest``."""

    def cancel(self, remote_id: str) -> None:
        """Ask the upstream to stop and forget the job; a job it no longer knows is fine."""

    def close(self) -> None: ...


def error_text(response: httpx.Response) -> tuple[str | None, str]:
    """(code, message) from an error answer in the OpenAI or the seed shape, shortened."""
    code: object = None
    message: object = None
    try:
        body = response.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        body = None
    if isinstance(body, dict):
        error = body.get("error")
        if isinstance(error, dict):
            code, message = error.get("code"), error.get("message") or error.get("detail")
        else:
            code = body.get("error_code")
            message = body.get("detail") or error or body.get("message") or body.get("title")
    if not message:
        message = response.text.strip() or response.reason_phrase
    text = " ".join(str(message).split())[:MAX_MESSAGE_CHARS]
    return (str(code) if code not in (None, "") else None), text


def raise_for_answer(name: str, what: str, response: httpx.Response) -> None:
    """Turn a non-2xx answer into the error the engine acts on."""
    status = response.status_code
    if status < 400:
        return
    code, message = error_text(response)
    where = f"upstream {name!r} {what}"
    if status in (401, 403):
        raise UpstreamAuthError(
            f"{where}: our API key was refused ({status}: {message}); fix the upstream's "
            "api_key / api_key_env"
        )
    if status in (408, 409, 425, 429) or status >= 500:
        raise UpstreamUnavailable(f"{where}: {status} {message}")
    if code == "moderation_blocked":
        raise UpstreamRefused(f"the upstream's moderation refused the request: {message}", code)
    raise UpstreamRefused(f"{where} refused the request ({status}): {message}")


def transport_failure(name: str, what: str, exc: httpx.HTTPError) -> UpstreamUnavailable:
    """A connection or timeout error as an ``UpstreamUnavailable`` (no URL with secrets)."""
    kind = type(exc).__name__
    return UpstreamUnavailable(f"upstream {name!r} {what}: {kind}: {exc}"[:MAX_MESSAGE_CHARS])


def stream_to_file(response: httpx.Response, dest: Path, max_bytes: int, name: str) -> None:
    """Write a streamed body to ``dest``, refusing one larger than ``max_bytes``."""
    written = 0
    with dest.open("wb") as out:
        for chunk in response.iter_bytes(1 << 20):
            written += len(chunk)
            if written > max_bytes:
                raise UpstreamRefused(
                    f"upstream {name!r} sent a video over {max_bytes} bytes; refusing it",
                    "upstream_bad_output",
                )
            out.write(chunk)
    if written == 0:
        raise UpstreamUnavailable(f"upstream {name!r} sent an empty video")
