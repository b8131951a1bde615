"""The client's view of the OpenAI surface's objects: a ``Video`` and a page of them, parsed
from JSON and checked, so an answer of the wrong shape is caught where it arrives.

The server's own wire models (``reelforge.api.schemas``) live with the FastAPI app; a client
must not need the server's stack to run, so these are small frozen dataclasses of their own.
``raw`` keeps the object exactly as the server sent it (for ``--json``, and fields added later).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final, Literal

TERMINAL_STATUSES: Final = frozenset({"completed", "failed"})
TERMINAL_EVENTS: Final = frozenset({"completed", "failed", "cancelled"})
Variant = Literal["video", "thumbnail", "spritesheet"]
VARIANT_SUFFIXES: Final[dict[str, str]] = {
    "video": ".mp4",
    "thumbnail": ".webp",
    "spritesheet": ".jpg",
}


class ShapeError(ValueError):
    """The JSON is not the object it should be; the message names the field."""


@dataclass(frozen=True, slots=True)
class VideoFailure:
    code: str
    message: str


@dataclass(frozen=True, slots=True)
class Video:
    """One video (a job) as ``GET /v1/videos/{id}`` describes it."""

    id: str
    status: str
    """``queued``, ``in_progress``, ``completed`` or ``failed`` (a cancelled video is failed,
    with ``error.code == "cancelled"``)."""
    model: str
    progress: int
    created_at: int
    completed_at: int | None
    expires_at: int | None
    prompt: str | None
    size: str
    seconds: str
    error: VideoFailure | None
    queue_position: int | None
    estimated_start_at: int | None
    estimated_completion_at: int | None
    phase: str | None
    raw: Mapping[str, Any] = field(repr=False, compare=False)

    @property
    def finished(self) -> bool:
        return self.status in TERMINAL_STATUSES

    @property
    def cancelled(self) -> bool:
        return self.error is not None and self.error.code == "cancelled"

    @classmethod
    def from_json(cls, data: object) -> Video:
        body = _object(data, "video")
        if body.get("object") != "video":
            raise ShapeError(f"expected a video object, got object={body.get('object')!r}")
        error = body.get("error")
        return cls(
            id=_text(body, "id"),
            status=_text(body, "status"),
            model=_text(body, "model"),
            progress=_integer(body, "progress"),
            created_at=_integer(body, "created_at"),
            completed_at=_optional_integer(body, "completed_at"),
            expires_at=_optional_integer(body, "expires_at"),
            prompt=_optional_text(body, "prompt"),
            size=_text(body, "size"),
            seconds=_text(body, "seconds"),
            error=_failure(error) if error is not None else None,
            queue_position=_optional_integer(body, "queue_position"),
            estimated_start_at=_optional_integer(body, "estimated_start_at"),
            estimated_completion_at=_optional_integer(body, "estimated_completion_at"),
            phase=_optional_text(body, "phase"),
            raw=body,
        )


@dataclass(frozen=True, slots=True)
class VideoPage:
    """One page of ``GET /v1/videos``; pass ``last_id`` as ``after`` for the next."""

    data: list[Video]
    first_id: str | None
    last_id: str | None
    has_more: bool

    @classmethod
    def from_json(cls, data: object) -> VideoPage:
        body = _object(data, "list")
        items = body.get("data")
        if body.get("object") != "list" or not isinstance(items, list):
            raise ShapeError("expected a list object with a data array")
        has_more = body.get("has_more")
        if not isinstance(has_more, bool):
            raise ShapeError("has_more: expected true or false")
        return cls(
            data=[Video.from_json(item) for item in items],
            first_id=_optional_text(body, "first_id"),
            last_id=_optional_text(body, "last_id"),
            has_more=has_more,
        )


@dataclass(frozen=True, slots=True)
class VideoEvent:
    """One event of ``GET /v1/videos/{id}/events``: its name (``queued``, ``started``,
    ``progress``, ``completed``, ``failed``, ``cancelled``), its id (to resume after) and the
    video as it was then."""

    event: str
    id: str | None
    video: Video

    @property
    def terminal(self) -> bool:
        return self.event in TERMINAL_EVENTS or self.video.finished


def _object(data: object, what: str) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise ShapeError(f"expected a JSON object ({what}), got {type(data).__name__}")
    return data


def _failure(data: object) -> VideoFailure:
    body = _object(data, "error")
    return VideoFailure(code=_text(body, "code"), message=_text(body, "message"))


def _text(body: Mapping[str, Any], name: str) -> str:
    value = body.get(name)
    if not isinstance(value, str):
        raise ShapeError(f"{name}: expected a string, got {value!r}")
    return value


def _optional_text(body: Mapping[str, Any], name: str) -> str | None:
    return None if body.get(name) is None else _text(body, name)


def _integer(body: Mapping[str, Any], name: str) -> int:
    value = body.get(name)
    if not isinstance(value, int) or isinstance(value, bool):
        raise ShapeError(f"{name}: expected an integer, got {value!r}")
    return value


def _optional_integer(body: Mapping[str, Any], name: str) -> int | None:
    return None if body.get(name) is None else _integer(body, name)
