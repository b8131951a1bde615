"""A small Server-Sent Events reader for tests, written from the WHATWG parsing rules (fields
``event``, ``data``, ``id``, ``retry``; ``:`` comments; a blank line ends an event), so tests
read streams the way a browser's EventSource would."""

from __future__ import annotations

import json
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any


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
    """Events from a stream's lines (without their line endings); comments are skipped."""
    current = SseEvent()
    data: list[str] = []
    for line in lines:
        if line == "":
            if data:
                current.data = "\n".join(data)
                current.received_at = time.monotonic()
                yield current
            current, data = SseEvent(), []
            continue
        if line.startswith(":"):
            continue
        name, _, value = line.partition(":")
        value = value.removeprefix(" ")
        if name == "event":
            current.event = value
        elif name == "data":
            data.append(value)
        elif name == "id":
            current.id = value
        elif name == "retry" and value.isdigit():
            current.retry = int(value)


def comments(lines: Iterable[str]) -> Iterator[str]:
    return (line for line in lines if line.startswith(":"))
