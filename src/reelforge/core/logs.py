"""Log context and line formats: every record carries the request and the job it belongs to.

Two context variables, ``request_id`` (set by the API for each HTTP request, kept with the job
it creates) and ``job_id`` (set by the worker while it runs a job, with that job's request id),
are copied onto each ``LogRecord`` when it is created, in the thread that logs: a record written
later by another thread (``serve``'s background log writer) keeps them.

Formats (setting ``log_format``): ``json``, one object per line with ``time``, ``level``,
``logger``, ``message``, plus ``request_id`` / ``job_id`` when known and ``exception`` when
there is one; ``plain``, timestamped text lines; ``rich``, Rich's console handler; ``auto``,
rich on a terminal and plain anywhere else.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any, Literal

LogFormat = Literal["auto", "rich", "plain", "json"]

request_id_var: ContextVar[str | None] = ContextVar("reelforge_request_id", default=None)
job_id_var: ContextVar[str | None] = ContextVar("reelforge_job_id", default=None)

PLAIN_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
_CONTEXT_FIELDS = ("request_id", "job_id")


def current_request_id() -> str | None:
    return request_id_var.get()


@contextmanager
def job_context(job_id: str, request_id: str | None) -> Iterator[None]:
    """Log records made inside carry ``job_id`` and the request id the job was created by."""
    job_token = job_id_var.set(job_id)
    request_token = request_id_var.set(request_id)
    try:
        yield
    finally:
        request_id_var.reset(request_token)
        job_id_var.reset(job_token)


def install_record_context() -> None:
    """Make every new ``LogRecord`` carry the context's request and job ids (idempotent)."""
    current = logging.getLogRecordFactory()
    if getattr(current, "_reelforge_context", False):
        return

    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = current(*args, **kwargs)
        record.request_id = request_id_var.get()
        record.job_id = job_id_var.get()
        return record

    factory._reelforge_context = True  # type: ignore[attr-defined]
    logging.setLogRecordFactory(factory)


class JsonFormatter(logging.Formatter):
    """One JSON object per line; fields that are unknown for a record are left out."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
            "pid": record.process,
        }
        for name in _CONTEXT_FIELDS:
            value = getattr(record, name, None)
            if value is not None:
                entry[name] = value
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        elif record.exc_text:
            entry["exception"] = record.exc_text
        return json.dumps(entry, ensure_ascii=False, default=str)


class PlainFormatter(logging.Formatter):
    """The plain line, with ``[job <id>]`` / ``[req <id>]`` before the message when known."""

    def __init__(self, fmt: str = PLAIN_FORMAT) -> None:
        super().__init__(fmt)

    def formatMessage(self, record: logging.LogRecord) -> str:
        line = super().formatMessage(record)
        tags = [
            f"[{label} {value}]"
            for label, value in (
                ("req", getattr(record, "request_id", None)),
                ("job", getattr(record, "job_id", None)),
            )
            if value
        ]
        if not tags:
            return line
        head, sep, message = line.partition(": ")
        return f"{head}: {' '.join(tags)} {message}" if sep else f"{line} {' '.join(tags)}"


def formatter_for(log_format: LogFormat, plain_format: str = PLAIN_FORMAT) -> logging.Formatter:
    """The formatter of a non-Rich handler for ``log_format``."""
    return JsonFormatter() if log_format == "json" else PlainFormatter(plain_format)
