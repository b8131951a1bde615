"""In-process wake-ups: none is lost between taking a mark and waiting, and cancels reach
every listener."""

from __future__ import annotations

import threading
import time

from reelforge.domain.specs import GenerationSpec
from reelforge.store.database import Database
from reelforge.store.db import create_db_engine
from reelforge.store.signals import Signals
from tests.support.wait import wait_for


def test_a_wake_up_between_mark_and_wait_is_not_lost() -> None:
    signals = Signals()
    mark = signals.work_mark()
    signals.job_enqueued()  # lands after the mark, before the wait
    started = time.monotonic()
    assert signals.wait_for_work(mark, timeout=30)
    assert time.monotonic() - started < 5


def test_a_waiting_thread_is_woken_by_an_enqueue() -> None:
    signals = Signals()
    mark = signals.work_mark()
    woken: list[bool] = []
    waiter = threading.Thread(target=lambda: woken.append(signals.wait_for_work(mark, 30)))
    waiter.start()
    wait_for(lambda: signals._work._waiters)  # type: ignore[attr-defined]  # it is blocked
    signals.job_enqueued()
    waiter.join(5)
    assert woken == [True]


def test_wait_times_out_without_an_enqueue() -> None:
    signals = Signals()
    signals.job_enqueued()  # before the mark: not news to this waiter
    mark = signals.work_mark()
    assert signals.wait_for_work(mark, timeout=0.05) is False


def test_cancel_listeners_receive_the_job_id() -> None:
    signals = Signals()
    first: list[str] = []
    second: list[str] = []
    signals.on_cancel(first.append)
    signals.on_cancel(second.append)
    signals.cancel_requested("job-1")
    signals.cancel_requested("job-2")
    assert first == second == ["job-1", "job-2"]


def test_postgres_relays_another_process_enqueue_and_cancel(pg_schema_url: str) -> None:
    listening = Database.open(pg_schema_url)  # listens, as every process on PostgreSQL does
    other = Database(create_db_engine(pg_schema_url))  # another process: no shared Signals
    cancels: list[str] = []
    listening.signals.on_cancel(cancels.append)
    mark = listening.signals.work_mark()
    spec = GenerationSpec.build("a kite", seconds=4, seed=1)
    try:
        # Repeat until the listener's LISTEN is in place; then one NOTIFY gets through.
        wait_for(lambda: other.enqueue(spec) and listening.signals.wait_for_work(mark, 0.2))
        lease = other.queue.claim("w1", lease_seconds=30)
        assert lease is not None
        wait_for(lambda: other.jobs.request_cancel(lease.job_id) and cancels)
        assert set(cancels) == {lease.job_id}
    finally:
        other.close()
        listening.close()
