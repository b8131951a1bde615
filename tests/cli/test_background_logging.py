"""``serve`` and ``worker`` write log records from a thread of their own: the thread that logs
(the event loop, a heartbeat) only queues the record, and never formats a traceback."""

from __future__ import annotations

import io
import logging
import threading
from contextlib import redirect_stderr

from reelforge.cli.common import background_logging, setup_logging
from tests.support.cli import root_logging_kept


class _Recording(logging.Formatter):
    """Notes the thread each record is formatted in."""

    def __init__(self) -> None:
        super().__init__("%(levelname)s %(name)s: %(message)s")
        self.threads: list[str] = []

    def format(self, record: logging.LogRecord) -> str:
        self.threads.append(threading.current_thread().name)
        return super().format(record)


def test_records_and_their_tracebacks_are_formatted_off_the_logging_thread() -> None:
    stderr = io.StringIO()
    with root_logging_kept(), redirect_stderr(stderr):
        setup_logging()
        formatter = _Recording()
        logging.getLogger().handlers[0].setFormatter(formatter)
        items = ["first"]
        with background_logging():
            try:
                raise RuntimeError("the database went away")
            except RuntimeError:
                logging.getLogger("reelforge.test").exception("create failed: %s", items)
            items.append("changed after logging")  # the message was fixed when logged
        # Leaving the block wrote everything that was queued.
        assert formatter.threads and threading.current_thread().name not in formatter.threads
    text = stderr.getvalue()
    assert "ERROR reelforge.test: create failed: ['first']\n" in text
    assert "RuntimeError: the database went away" in text
    assert "Traceback" in text


def test_the_handlers_are_back_afterwards() -> None:
    with root_logging_kept(), redirect_stderr(io.StringIO()):
        setup_logging()
        before = logging.getLogger().handlers[:]
        with background_logging():
            assert logging.getLogger().handlers != before
        assert logging.getLogger().handlers == before
