"""Database.enqueue, the one unit of work: the job row and its idempotency record commit
together, then the workers are woken once; a failed enqueue leaves nothing and wakes no one."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import replace
from datetime import timedelta

import pytest
import sqlalchemy as sa

from reelforge.domain.errors import IdempotencyConflict, JobNotFound
from reelforge.domain.jobs import Job, Lease, Status
from reelforge.domain.specs import GenerationSpec
from reelforge.store.database import Database, DatabaseError, IdempotentReply
from reelforge.store.idempotency import Claim, ClaimResult, IdempotencyKey, StoredResponse
from reelforge.store.queue import WorkQueue
from reelforge.store.signals import Signals
from tests.support.clock import FakeClock

OWNER = "key_1"


def spec(prompt: str = "a kite over a beach") -> GenerationSpec:
    return GenerationSpec.build(prompt, seconds=4, seed=1)


def render(job: Job) -> StoredResponse:
    return StoredResponse(202, json.dumps({"id": job.id, "status": job.status.value}), job.id)


def job_count(database: Database) -> int:
    return sum(database.jobs.count_by_status().values())


def test_enqueue_inserts_a_queued_job_and_wakes_workers_once(
    database: Database, clock: FakeClock
) -> None:
    mark = database.signals.work_mark()
    job = database.enqueue(spec(), OWNER, job_id="job-1", retention=timedelta(days=7))
    assert database.signals.work_mark() == mark + 1
    assert job.id == "job-1" and job.status is Status.QUEUED and job.owner == OWNER
    assert job.created_at == clock() and job.expires_at == clock() + timedelta(days=7)
    assert database.jobs.get_job("job-1") == job


def test_enqueue_stores_the_rendered_response_with_the_job(database: Database) -> None:
    key = IdempotencyKey(OWNER, "key:1", "body-1")
    claim = database.idempotency.claim(key)
    assert claim.result is ClaimResult.PROCEED and claim.token is not None
    job = database.enqueue(spec(), OWNER, idempotency=IdempotentReply(key, claim.token, render))
    assert database.idempotency.claim(key) == Claim(ClaimResult.REPLAY, render(job))
    assert job_count(database) == 1


def after_the_lock_expired(key: IdempotencyKey, clock: FakeClock) -> IdempotencyKey:
    clock.advance(61)  # the claim's 60 s lock ran out: a retry may take the key
    return key


def as_a_fresh_sdk_call(key: IdempotencyKey, clock: FakeClock) -> IdempotencyKey:
    return replace(key, takeover=True)


@pytest.mark.parametrize("take_over", [after_the_lock_expired, as_a_fresh_sdk_call])
def test_enqueue_after_losing_the_key_rolls_back_and_wakes_no_one(
    database: Database,
    clock: FakeClock,
    take_over: Callable[[IdempotencyKey, FakeClock], IdempotencyKey],
) -> None:
    key = IdempotencyKey(OWNER, "sdk:body-2", "body-2", takeover=True)
    lost = database.idempotency.claim(key).token
    winner = take_over(key, clock)
    held = database.idempotency.claim(winner).token
    assert lost is not None and held is not None
    won = database.enqueue(
        spec(), OWNER, job_id="winner", idempotency=IdempotentReply(winner, held, render)
    )
    mark = database.signals.work_mark()
    with pytest.raises(IdempotencyConflict):
        late = IdempotentReply(key, lost, render)
        database.enqueue(spec(), OWNER, job_id="loser", idempotency=late)
    with pytest.raises(JobNotFound):
        database.jobs.get_job("loser")
    assert job_count(database) == 1
    assert database.signals.work_mark() == mark
    plain = replace(key, takeover=False)
    assert database.idempotency.claim(plain) == Claim(ClaimResult.REPLAY, render(won))


def test_a_failed_insert_wakes_no_one(database: Database) -> None:
    database.enqueue(spec(), OWNER, job_id="job-1")
    mark = database.signals.work_mark()
    with pytest.raises(DatabaseError):
        database.enqueue(spec("the same id again"), OWNER, job_id="job-1")
    assert database.signals.work_mark() == mark
    assert job_count(database) == 1


class ClaimingSignals(Signals):
    """Signals whose wake-up makes a worker claim at once, before ``enqueue`` returns."""

    def __init__(self) -> None:
        super().__init__()
        self.queue: WorkQueue | None = None
        self.leases: list[Lease | None] = []

    def job_enqueued(self) -> None:
        assert self.queue is not None
        self.leases.append(self.queue.claim("quick worker", lease_seconds=30))
        super().job_enqueued()


def test_enqueue_answers_queued_even_if_a_worker_claims_the_job_at_once(
    engine: sa.Engine, clock: FakeClock
) -> None:
    signals = ClaimingSignals()
    database = Database(engine, signals=signals, clock=clock)
    signals.queue = database.queue
    job = database.enqueue(spec())
    lease = signals.leases[0]
    assert lease is not None and lease.job_id == job.id
    assert job.status is Status.QUEUED and job.attempts == 0 and job.lease_token is None
    assert database.jobs.get_job(job.id).status is Status.RUNNING
