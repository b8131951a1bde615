"""Log records carry the request and job of their context; the JSON and plain line formats."""

from __future__ import annotations

import json
import logging
import sys
import threading

import pytest

from reelforge.core.logs import (
    JsonFormatter,
    PlainFormatter,
    install_record_context,
    job_context,
    request_id_var,
)


def record(
    message: str = "rendered %d frames", args: tuple[object, ...] = (48,)
) -> logging.LogRecord:
    install_record_context()
    return logging.getLogger("reelforge.test").makeRecord(
        "reelforge.test", logging.INFO, __file__, 1, message, args, None
    )


def test_records_take_the_ids_of_their_context_when_made() -> None:
    outside = record()
    with job_context("job-1", "req-1"):
        inside = record()
        seen_by_other_thread: list[logging.LogRecord] = []
        thread = threading.Thread(target=lambda: seen_by_other_thread.append(record()))
        thread.start()
        thread.join()
    assert (outside.request_id, outside.job_id) == (None, None)  # type: ignore[attr-defined]
    assert (inside.request_id, inside.job_id) == ("req-1", "job-1")  # type: ignore[attr-defined]
    # A plain thread starts with an empty context: it must not inherit another job's ids.
    assert seen_by_other_thread[0].job_id is None  # type: ignore[attr-defined]
    assert request_id_var.get() is None


def test_installing_twice_wraps_the_factory_once() -> None:
    install_record_context()
    factory = logging.getLogRecordFactory()
    install_record_context()
    assert logging.getLogRecordFactory() is factory


def test_json_lines_have_the_fields_and_leave_out_unknown_ids() -> None:
    formatter = JsonFormatter()
    plain = json.loads(formatter.format(record()))
    assert set(plain) == {"time", "level", "logger", "message", "pid"}
    assert plain["message"] == "rendered 48 frames" and plain["level"] == "info"
    assert plain["logger"] == "reelforge.test" and plain["time"].endswith("+00:00")
    with job_context("job-2", "req-2"):
        tagged = json.loads(formatter.format(record('quote " and\nnewline', ())))
    assert tagged["job_id"] == "job-2" and tagged["request_id"] == "req-2"
    assert tagged["message"] == 'quote " and\nnewline'


def test_json_lines_carry_the_exception_on_one_line() -> None:
    try:
        raise ValueError("bad frame")
    except ValueError:
        failing = logging.getLogger("x").makeRecord(
            "x", logging.ERROR, __file__, 1, "failed", (), sys.exc_info()
        )
    line = JsonFormatter().format(failing)
    assert "\n" not in line
    assert "ValueError: bad frame" in json.loads(line)["exception"]


@pytest.mark.parametrize(
    ("ids", "expected"),
    [
        ((None, None), "INFO reelforge.test: rendered 48 frames"),
        (("job-3", "req-3"), "INFO reelforge.test: [req req-3] [job job-3] rendered 48 frames"),
    ],
)
def test_plain_lines_tag_the_message(ids: tuple[str | None, str | None], expected: str) -> None:
    formatter = PlainFormatter("%(levelname)s %(name)s: %(message)s")
    job_id, request_id = ids
    if job_id is None:
        line = formatter.format(record())
    else:
        with job_context(job_id, request_id):
            line = formatter.format(record())
    assert line == expected
