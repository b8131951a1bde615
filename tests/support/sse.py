"""Server-Sent Events for tests: the client's WHATWG parser (``reelforge.client.sse``), its
messages with the time each arrived, so tests read streams the way a browser's EventSource
would."""

from __future__ import annotations

import json
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from reelforge.client.sse import parse_sse


@dataclass
class SseEvent:
    event: str = "message"
    data: str = ""
    id: str | None = None
    retry: int | None = None
    received_at: float = field(default_factory=time.monotonic)

    def json(self) -> Any:
        return json.loads(self.data)


def parse_events(lines: Iterable[str]) -> Iterator[SseEvent]:
    """Events from a stream's lines (without their line endings), read by the client's own
    parser; each stamped with when it was dispatched."""
    for message in parse_sse(lines):
        yield SseEvent(message.event, message.data, message.id, message.retry, time.monotonic())


def comments(lines: Iterable[str]) -> Iterator[str]:
    return (line for line in lines if line.startswith(":"))
