"""Server-Sent Events, read as the WHATWG rules say: ``event``, ``data`` (joined with newlines),
``id`` and ``retry`` fields, ``:`` comments (keep-alives), a blank line ends an event.

``id`` persists across events (the resume point); ``retry`` is the reconnection time in ms that
this event's own lines set, if any."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class SseMessage:
    event: str
    data: str
    id: str | None
    retry: int | None = None


def parse_sse(lines: Iterable[str]) -> Iterator[SseMessage]:
    """Messages from a stream's lines (without line endings); an event without data is not
    dispatched, and a last event the stream cut short is dropped."""
    event, data, last_id, retry = "", list[str](), None, None
    for line in lines:
        if line == "":
            if data:
                yield SseMessage(event or "message", "\n".join(data), last_id, retry)
            event, data, retry = "", [], None
            continue
        if line.startswith(":"):
            continue
        name, _, value = line.partition(":")
        value = value.removeprefix(" ")
        if name == "event":
            event = value
        elif name == "data":
            data.append(value)
        elif name == "id" and "\0" not in value:
            # The id persists across events until another one is sent (the resume point).
            last_id = value
        elif name == "retry" and value.isascii() and value.isdigit():
            retry = int(value)
