"""Per-key limits at admission, on both databases: the request rate, the queue cap, video and
compute budgets per UTC day and month, the model allowlist, server defaults and ``unlimited``.

A real Database and Admission on a fake clock; keys are real rows. A refusal leaves nothing
behind: no job, no stored frame, no budget spent, and the idempotency key free again.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from reelforge.domain.jobs import Status
from reelforge.domain.quotas import UNLIMITED, KeyLimits, ModelNotAllowed, QuotaExceeded
from reelforge.policy import FacePolicy, PromptPolicy
from reelforge.services.admission import Admission
from reelforge.services.metrics import Metrics
from reelforge.store.database import Database
from reelforge.store.db import create_db_engine, migrate
from reelforge.store.idempotency import IdempotencyKey
from reelforge.store.keys import ApiKey
from reelforge.store.tables import usage_daily
from reelforge.store.usage import add_usage, usage_key
from tests.services.test_admission import (
    RETENTION_SECONDS,
    Frames,
    RecordingBlobs,
    png,
    render,
    request,
)
from tests.support.clock import FakeClock

# 20:00 UTC on the last day of a month: the day and the month both reset at 04:00 from now.
START = datetime(2026, 12, 31, 20, 0, tzinfo=UTC)


class Quotas:
    def __init__(self, database: Database, admission: Admission, clock: FakeClock) -> None:
        self.database = database
        self.admission = admission
        self.clock = clock

    def key(self, **settings: Any) -> ApiKey:
        return self.database.keys.create("limited", settings).key

    def submit(self, key: ApiKey, **changes: Any) -> str:
        ident = changes.pop("idempotency", None)
        admitted = self.admission.submit(
            key.id, request(**changes), render=render, idempotency=ident, key=key
        )
        return admitted.response.job_id or ""

    def refused(self, key: ApiKey, **changes: Any) -> QuotaExceeded:
        with pytest.raises(QuotaExceeded) as caught:
            self.submit(key, **changes)
        return caught.value

    def queued(self, key: ApiKey) -> int:
        return sum(
            1
            for job in self.database.jobs.list_jobs(key.id, limit=1000)
            if job.status is Status.QUEUED
        )


@pytest.fixture
def quotas(
    database_url: str, tmp_path: Path, prompt_policy: PromptPolicy, face_policy: FacePolicy
) -> Iterator[Quotas]:
    clock = FakeClock(START)
    engine = create_db_engine(database_url)
    migrate(engine)
    database = Database(engine, clock=clock)
    admission = Admission(
        database,
        RecordingBlobs(tmp_path / "media"),
        prompt_policy,
        face_policy,
        Frames(),
        RETENTION_SECONDS,
        Metrics(database.jobs),
    )
    yield Quotas(database, admission, clock)
    database.close()


def test_requests_per_minute_is_a_token_bucket(quotas: Quotas) -> None:
    key = quotas.key(rpm=3)
    for _ in range(3):
        quotas.submit(key)
    refused = quotas.refused(key)
    assert (refused.limit, refused.value) == ("rpm", 3)
    assert refused.retry_after_seconds == 20  # one token every 60/3 s
    assert refused.worth_retrying
    assert "3 video creates per minute" in str(refused)
    quotas.clock.advance(19)
    quotas.refused(key)
    quotas.clock.advance(1)
    quotas.submit(key)
    assert quotas.queued(key) == 4


def test_refused_requests_spend_no_tokens(quotas: Quotas) -> None:
    """A 429 takes nothing from the bucket: it refills as if the refused call never came."""
    key = quotas.key(rpm=1)
    quotas.submit(key)
    for _ in range(5):
        quotas.refused(key)
    quotas.clock.advance(60)
    quotas.submit(key)


def test_max_queued_counts_only_queued_jobs(quotas: Quotas) -> None:
    key = quotas.key(max_queued=2)
    first = quotas.submit(key)
    quotas.submit(key)
    refused = quotas.refused(key)
    assert (refused.limit, refused.value) == ("max_queued", 2)
    assert "already has 2 videos queued" in str(refused)
    quotas.database.jobs.request_cancel(first)
    quotas.submit(key)


def test_a_burst_is_cut_exactly_at_the_daily_video_budget(quotas: Quotas) -> None:
    key = quotas.key(daily_video_seconds=20)
    with ThreadPoolExecutor(max_workers=8) as pool:
        outcomes = list(pool.map(lambda _: _outcome(quotas, key), range(20)))
    assert outcomes.count("admitted") == 5  # 5 x 4 s = the 20 s budget
    assert outcomes.count("daily_video_seconds") == 15
    assert quotas.queued(key) == 5


def _outcome(quotas: Quotas, key: ApiKey) -> str:
    try:
        quotas.submit(key)
    except QuotaExceeded as exc:
        return exc.limit
    return "admitted"


def test_a_video_that_would_pass_the_budget_is_refused_until_it_resets(quotas: Quotas) -> None:
    key = quotas.key(daily_video_seconds=12)
    quotas.submit(key, seconds="8")
    refused = quotas.refused(key, seconds="8")
    assert refused.limit == "daily_video_seconds"
    assert refused.retry_at == datetime(2027, 1, 1, tzinfo=UTC)
    assert refused.retry_after_seconds == 4 * 3600
    assert not refused.worth_retrying  # hours away: clients are told not to retry on their own
    assert "8 s are queued, running or completed" in str(refused)
    assert "resets at 2027-01-01T00:00:00Z" in str(refused)
    quotas.submit(key, seconds="4")  # what fits still fits
    quotas.clock.advance(4 * 3600)
    quotas.submit(key, seconds="8")


def test_a_video_longer_than_the_whole_budget_is_final(quotas: Quotas) -> None:
    key = quotas.key(daily_video_seconds=8)
    refused = quotas.refused(key, seconds="12")
    assert refused.final and not refused.worth_retrying
    assert "longer than this API key's whole daily budget" in str(refused)


def test_the_monthly_budget_spans_days_and_resets_with_the_month(quotas: Quotas) -> None:
    key = quotas.key(monthly_video_seconds=8)
    quotas.submit(key, seconds="4")
    quotas.clock.advance(-10 * 86400)  # ten days earlier in the same month
    quotas.submit(key, seconds="4")
    quotas.clock.advance(10 * 86400)
    refused = quotas.refused(key, seconds="4")
    assert refused.limit == "monthly_video_seconds"
    assert refused.retry_at == datetime(2027, 1, 1, tzinfo=UTC)
    quotas.clock.advance(4 * 3600)
    quotas.submit(key, seconds="4")


def test_cancelled_jobs_give_their_budget_back(quotas: Quotas) -> None:
    key = quotas.key(daily_video_seconds=8)
    first = quotas.submit(key, seconds="8")
    quotas.refused(key, seconds="4")
    quotas.database.jobs.request_cancel(first)
    quotas.submit(key, seconds="8")


def test_deleting_a_completed_job_gives_nothing_back(quotas: Quotas) -> None:
    key = quotas.key(daily_video_seconds=8)
    job_id = quotas.submit(key, seconds="8")
    _complete(quotas.database, job_id)
    quotas.database.jobs.delete_job(job_id)
    quotas.refused(key, seconds="4")


def _complete(database: Database, job_id: str) -> None:
    from reelforge.domain.jobs import JobOutputs

    lease = database.queue.claim("test-worker", 60)
    assert lease is not None and lease.job_id == job_id
    database.queue.complete(lease, JobOutputs("v.mp4", "t.webp", "s.jpg"), "testcard")


def test_the_compute_budget_counts_spent_and_estimated_seconds(quotas: Quotas) -> None:
    """Spent compute comes from the ledger; queued work is estimated from the recent compute
    per video second of its model (here 2 s of compute per video second)."""
    key = quotas.key(daily_gpu_seconds=30)
    _record_history(quotas, model="sora-2", compute=80.0, delivered=40)
    quotas.submit(key, seconds="8")  # ~16 s estimated
    refused = quotas.refused(key, seconds="8")  # 16 + 16 > 30
    assert refused.limit == "daily_gpu_seconds"
    assert "GPU-seconds" in str(refused)
    quotas.submit(key, seconds="4")  # 16 + 8 = 24 <= 30


def _record_history(quotas: Quotas, *, model: str, compute: float, delivered: int) -> None:
    with quotas.database._engine.begin() as conn:
        add_usage(
            conn,
            usage_key("someone-else", START, model),
            compute_seconds=compute,
            video_seconds_delivered=delivered,
        )


def test_spent_compute_alone_stops_a_key(quotas: Quotas) -> None:
    key = quotas.key(daily_gpu_seconds=10)
    with quotas.database._engine.begin() as conn:
        add_usage(conn, usage_key(key.id, START, "sora-2"), compute_seconds=10.5)
    assert quotas.refused(key).limit == "daily_gpu_seconds"


def test_models_outside_the_allowlist_are_refused(quotas: Quotas) -> None:
    key = quotas.key(allowed_models=("sora-2",))
    quotas.submit(key, model="sora-2")
    with pytest.raises(ModelNotAllowed, match="may not use model 'sora-2-pro'"):
        quotas.submit(key, model="sora-2-pro")


def test_server_defaults_apply_and_unlimited_lifts_them(quotas: Quotas) -> None:
    quotas.admission.default_limits = KeyLimits(max_queued=1)
    plain, lifted = quotas.key(), quotas.key(max_queued=UNLIMITED)
    quotas.submit(plain)
    assert quotas.refused(plain).limit == "max_queued"
    for _ in range(3):
        quotas.submit(lifted)
    own = quotas.key(max_queued=2)
    quotas.submit(own)
    quotas.submit(own)
    assert quotas.refused(own).value == 2


def test_a_refusal_leaves_nothing_behind(quotas: Quotas) -> None:
    """Refused by the locked check, after the first frame was stored and the idempotency key
    claimed: the frame is removed, the key is free again, the ledger has only the winner."""
    key = quotas.key(max_queued=1)
    blobs = quotas.admission.blobs
    frames = quotas.admission.resolve_first_frame
    assert isinstance(blobs, RecordingBlobs) and isinstance(frames, Frames)
    ident = IdempotencyKey(key.id, "retry-me", "fingerprint")
    # The precheck saw room; a concurrent create fills the queue before the locked check.
    winner: list[str] = []
    frames.before = lambda: winner.append(quotas.submit(key))
    with pytest.raises(QuotaExceeded):
        quotas.submit(key, first_frame=png(), idempotency=ident)
    assert [job.id for job in quotas.database.jobs.list_jobs(key.id, limit=10)] == winner
    assert not {f for f in blobs.files() if f.startswith("inputs/")}
    assert [(row.jobs, row.video_seconds_committed) for row in _ledger(quotas)] == [(1, 4)]
    claim = quotas.database.idempotency.claim(ident)
    assert claim.stored is None and claim.token  # free again: this request may claim it


def _ledger(quotas: Quotas) -> list[Any]:
    with quotas.database._engine.connect() as conn:
        return list(conn.execute(sa.select(usage_daily).order_by(usage_daily.c.day)).all())


def test_keys_without_limits_pay_no_quota_queries(quotas: Quotas) -> None:
    """No limit configured: admission takes no lock and reads no ledger (the fast path)."""
    key = quotas.key()
    statements: list[str] = []
    lock = threading.Lock()

    def record(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        with lock:
            statements.append(statement)

    engine = quotas.database._engine
    sa.event.listen(engine, "before_cursor_execute", record)
    try:
        quotas.submit(key)
    finally:
        sa.event.remove(engine, "before_cursor_execute", record)
    assert not any(
        "usage_daily" in s and s.lstrip().upper().startswith("SELECT") for s in statements
    )
    assert not any("FOR UPDATE" in s for s in statements)


@pytest.fixture(scope="module")
def prompt_policy(tmp_path_factory: pytest.TempPathFactory) -> PromptPolicy:
    from reelforge.core.config import Settings
    from reelforge.services import build_prompt_policy

    return build_prompt_policy(Settings(data_dir=tmp_path_factory.mktemp("policy")))


@pytest.fixture(scope="module")
def face_policy() -> FacePolicy:
    return FacePolicy()


def test_refusals_are_counted_by_limit(quotas: Quotas) -> None:
    key = quotas.key(rpm=1, allowed_models=("sora-2",))
    quotas.submit(key)
    quotas.refused(key)
    quotas.refused(key)
    with pytest.raises(ModelNotAllowed):
        quotas.submit(key, model="sora-2-pro")
    registry = quotas.admission.metrics.registry
    counted = {
        limit: registry.get_sample_value("reelforge_quota_refusals_total", {"limit": limit})
        for limit in ("rpm", "model_not_allowed")
    }
    assert counted == {"rpm": 2.0, "model_not_allowed": 1.0}
