"""Fair queueing by API key and per-key running caps, through the real queue on both databases.

Claims take jobs in start-time fair order (``store.fairness``): a key's backlog cannot hold
back another key's first job, keys with backlogs take turns in proportion to their weights, a
key alone is FIFO, and a queued job's position is exactly the number of claims before its own.
A key at its ``max_running`` cap is passed over (``store.running_caps``), also when many
workers claim at the same instant.
"""

from __future__ import annotations

import threading
from collections import Counter

import pytest
import sqlalchemy as sa

from reelforge.core.runtime import Runtime
from reelforge.domain.jobs import JobOutputs, Lease, Status
from reelforge.domain.specs import GenerationSpec
from reelforge.store.api_tables import api_keys
from reelforge.store.database import Database
from reelforge.store.fairness import start_tag
from reelforge.store.tables import jobs
from reelforge.worker import Worker
from tests.support.clock import FakeClock
from tests.support.settings import SettingsFactory

OUTPUTS = JobOutputs("v.mp4", "t.webp", "s.jpg")
SPEC = GenerationSpec.build("a lighthouse at dusk", seconds=4, seed=1)


def new_key(
    database: Database, engine: sa.Engine, *, weight: int = 1, max_running: int | None = None
) -> str:
    key = database.keys.create("fairness").key.id
    with engine.begin() as conn:
        conn.execute(
            api_keys.update()
            .where(api_keys.c.id == key)
            .values(weight=weight, max_running=max_running)
        )
    return key


def enqueue(database: Database, clock: FakeClock, owner: str | None, count: int = 1) -> list[str]:
    ids = []
    for _ in range(count):
        clock.advance(0.001)
        ids.append(database.enqueue(SPEC, owner).id)
    return ids


def claim(database: Database, default_max_running: int | None = None) -> Lease | None:
    return database.queue.claim("w1", lease_seconds=600, default_max_running=default_max_running)


def claim_and_finish(database: Database, claims: int) -> list[str]:
    """The ids of the next ``claims`` jobs one worker takes (each run to completion)."""
    taken = []
    for _ in range(claims):
        lease = claim(database)
        assert lease is not None
        database.queue.complete(lease, OUTPUTS, "testcard")
        taken.append(lease.job_id)
    return taken


def owner_of(database: Database, job_id: str) -> str | None:
    return database.jobs.get_job(job_id).owner


def running(engine: sa.Engine, owner: str) -> int:
    query = sa.select(sa.func.count()).where(
        jobs.c.owner == owner, jobs.c.status == Status.RUNNING.value
    )
    with engine.connect() as conn:
        return int(conn.execute(query).scalar_one())


# -- the tag ------------------------------------------------------------------------------------


def test_start_tag_is_the_later_of_the_virtual_time_and_the_owners_next_round() -> None:
    assert start_tag(None, None, None) == 0.0  # empty queue
    assert start_tag(7.0, None, 3) == 7.0  # the key has nothing queued: it starts at V
    assert start_tag(7.0, 9.0, 1) == 10.0
    assert start_tag(7.0, 9.0, 4) == 9.25
    assert start_tag(7.0, 2.0, 1) == 7.0  # never behind the virtual time
    assert start_tag(0.0, 0.0, 0) == 1.0  # a non-positive weight counts as 1


# -- fair order ---------------------------------------------------------------------------------


@pytest.mark.parametrize("claimed_before", [0, 10])
def test_a_keys_backlog_does_not_hold_back_another_keys_first_job(
    database: Database, engine: sa.Engine, clock: FakeClock, claimed_before: int
) -> None:
    backlog, newcomer = new_key(database, engine), new_key(database, engine)
    enqueue(database, clock, backlog, 50)
    claim_and_finish(database, claimed_before)
    [first] = enqueue(database, clock, newcomer)
    assert first in claim_and_finish(database, 2)


def test_keys_with_backlogs_take_turns(
    database: Database, engine: sa.Engine, clock: FakeClock
) -> None:
    keys = [new_key(database, engine) for _ in range(3)]
    for key in keys:  # each key's burst arrives whole, one after the other
        enqueue(database, clock, key, 5)
    order = [owner_of(database, job) for job in claim_and_finish(database, 15)]
    assert order == keys * 5


def test_weights_give_proportional_shares_while_both_keys_wait(
    database: Database, engine: sa.Engine, clock: FakeClock
) -> None:
    heavy, light = new_key(database, engine, weight=2), new_key(database, engine)
    enqueue(database, clock, light, 20)
    enqueue(database, clock, heavy, 20)
    order = [owner_of(database, job) for job in claim_and_finish(database, 30)]
    for claims in (3, 15, 30):
        shares = Counter(order[:claims])
        assert (shares[heavy], shares[light]) == (claims * 2 // 3, claims // 3)


@pytest.mark.parametrize("owner", ["key", None])
def test_a_key_alone_is_strict_fifo_even_within_one_instant(
    database: Database, engine: sa.Engine, owner: str | None
) -> None:
    if owner is not None:
        owner = new_key(database, engine)
    # Same created_at for all, ids in descending order: only the tags keep the arrival order.
    ids = [f"job-{9 - n}" for n in range(10)]
    for job_id in ids:
        database.enqueue(SPEC, owner, job_id=job_id)
    assert claim_and_finish(database, 10) == ids


def test_a_requeued_job_keeps_its_tag_and_goes_back_near_the_head(
    database: Database, engine: sa.Engine, clock: FakeClock
) -> None:
    first, other = new_key(database, engine), new_key(database, engine)
    lost_job = enqueue(database, clock, first, 3)[0]
    enqueue(database, clock, other, 3)
    lost = database.queue.claim("crashy", lease_seconds=5)
    assert lost is not None and lost.job_id == lost_job
    clock.advance(6)
    assert database.queue.sweep_expired(max_attempts=3).requeued == [lost_job]
    assert claim_and_finish(database, 1) == [lost_job]  # it already waited its turn


def test_queue_position_counts_exactly_the_claims_before_the_job(
    database: Database, engine: sa.Engine, clock: FakeClock
) -> None:
    light, heavy, bursty = (new_key(database, engine, weight=w) for w in (1, 3, 1))
    enqueue(database, clock, bursty, 12)
    enqueue(database, clock, None, 2)  # the command line's jobs: one more flow
    claim_and_finish(database, 4)
    for _ in range(4):
        enqueue(database, clock, light, 1)
        enqueue(database, clock, heavy, 2)
    claim_and_finish(database, 3)
    enqueue(database, clock, None, 1)
    enqueue(database, clock, heavy, 3)

    queued = [
        job for job in database.jobs.list_jobs(None, limit=100) if job.status is Status.QUEUED
    ]
    positions = {job.id: database.stats.queued_ahead(job).count for job in queued}
    order = claim_and_finish(database, len(queued))
    assert len(set(positions.values())) == len(queued) > 20
    assert {job_id: order.index(job_id) for job_id in positions} == positions


# -- max_running --------------------------------------------------------------------------------


def test_a_key_at_its_cap_is_passed_over_for_other_keys(
    database: Database, engine: sa.Engine, clock: FakeClock
) -> None:
    capped, other = new_key(database, engine, max_running=2), new_key(database, engine)
    enqueue(database, clock, capped, 5)
    enqueue(database, clock, other, 3)
    leases = []
    while (lease := claim(database)) is not None:
        leases.append(lease)
        assert running(engine, capped) <= 2
    assert [owner_of(database, lease.job_id) for lease in leases] == [capped, other] * 2 + [other]
    # Its jobs wait, never refused: a finished one frees a place for the next.
    database.queue.complete(leases[0], OUTPUTS, "testcard")
    freed = claim(database)
    assert freed is not None and owner_of(database, freed.job_id) == capped
    assert claim(database) is None
    assert running(engine, capped) == 2


@pytest.mark.parametrize(
    ("column", "default", "runs_at_once"),
    [
        (None, 1, 1),  # the server default applies where the key sets none
        (None, None, 4),  # no default, no cap
        (3, 1, 3),  # the key's own cap wins over the default
        (-1, 1, 4),  # -1: unlimited for this key, whatever the default
    ],
)
def test_the_cap_is_the_keys_own_else_the_server_default(
    database: Database,
    engine: sa.Engine,
    clock: FakeClock,
    column: int | None,
    default: int | None,
    runs_at_once: int,
) -> None:
    key = new_key(database, engine, max_running=column)
    enqueue(database, clock, key, 4)
    while claim(database, default_max_running=default) is not None:
        pass
    assert running(engine, key) == runs_at_once


def test_jobs_without_an_owner_have_no_cap(database: Database, clock: FakeClock) -> None:
    enqueue(database, clock, None, 3)
    assert all(claim(database, default_max_running=1) is not None for _ in range(3))


def claim_at_once(database: Database, claimers: int) -> list[Lease | None]:
    """One claim from each of ``claimers`` threads, released at the same instant."""
    start = threading.Barrier(claimers)
    leases: list[Lease | None] = [None] * claimers

    def take(slot: int) -> None:
        start.wait()
        leases[slot] = database.queue.claim(f"w{slot}", lease_seconds=600)

    threads = [threading.Thread(target=take, args=(slot,)) for slot in range(claimers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return leases


def test_concurrent_claimers_never_pass_a_keys_cap(
    database: Database, engine: sa.Engine, clock: FakeClock
) -> None:
    """Eight claimers start at the same instant, round after round: on PostgreSQL they pick
    in parallel (SKIP LOCKED), so the capped key's two places are raced for in every round."""
    capped, other = new_key(database, engine, max_running=2), new_key(database, engine)
    claimers = 8
    for _ in range(5):
        enqueue(database, clock, capped, claimers)
        enqueue(database, clock, other, claimers - 2)
        leases = claim_at_once(database, claimers)
        assert running(engine, capped) == 2
        assert running(engine, other) == claimers - 2
        for lease in leases:
            assert lease is not None
            database.queue.complete(lease, OUTPUTS, "testcard")


def test_workers_claim_under_the_servers_default_cap(make_settings: SettingsFactory) -> None:
    runtime = Runtime.open(make_settings(default_max_running=1))
    try:
        key = runtime.keys.create("capped by default").key.id
        first, second = (runtime.database.enqueue(SPEC, key) for _ in range(2))
        local = runtime.database.enqueue(SPEC)  # the command line's: no cap
        elsewhere = runtime.queue.claim("another worker", lease_seconds=600)
        assert elsewhere is not None and elsewhere.job_id == first.id
        assert Worker(runtime).run_until_idle() == 1  # the key's second job waits its turn
        assert runtime.store.get_job(local.id).status is Status.COMPLETED
        assert runtime.store.get_job(second.id).status is Status.QUEUED
    finally:
        runtime.close()
