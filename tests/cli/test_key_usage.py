"""``reelforge keys usage``: the usage ledger per key, day and model as a table or CSV, for
every key (local jobs as ``local``) or one named by id, token or name; bad dates are one
``error:`` line and exit code 2."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from reelforge.core.config import Settings
from reelforge.core.runtime import Runtime
from reelforge.domain.jobs import JobOutputs
from reelforge.domain.specs import GenerationSpec
from tests.support.cli import run_main
from tests.support.clock import FakeClock

DAY = "2024-03-01"  # the fake clock's day: long before the default range of any test run
RANGE = ("--since", "2024-02-01", "--until", "2024-03-31")
OUTPUTS = JobOutputs("jobs/x/a/video.mp4", "jobs/x/a/t.webp", "jobs/x/a/s.jpg")


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    return {"REELFORGE_DATA_DIR": str(tmp_path / "data"), "COLUMNS": "250"}


@pytest.fixture
def keys(env: dict[str, str]) -> dict[str, str]:
    """Two keys that each ran jobs on DAY, plus one local job: name -> token."""
    runtime = Runtime.open(
        Settings(data_dir=Path(env["REELFORGE_DATA_DIR"])),
        clock=FakeClock(datetime(2024, 3, 1, 12, tzinfo=UTC)),
    )
    try:
        alpha, beta = runtime.keys.create("alpha"), runtime.keys.create("beta")
        run(runtime, alpha.key.id, seconds=8, compute=2.5)
        run(runtime, alpha.key.id, seconds=4, compute=1.25, fail=True)
        run(runtime, beta.key.id, seconds=4, compute=3.0, model="sora-2-pro")
        run(runtime, None, seconds=4, compute=0.5)
    finally:
        runtime.close()
    return {"alpha": alpha.token, "beta": beta.token}


def run(
    runtime: Runtime,
    owner: str | None,
    *,
    seconds: int,
    compute: float,
    model: str = "sora-2",
    fail: bool = False,
) -> None:
    spec = GenerationSpec.build("a kite", model=model, seconds=seconds, seed=1)
    runtime.database.enqueue(spec, owner)
    lease = runtime.queue.claim("w1", lease_seconds=30)
    assert lease is not None
    clock = runtime.store.clock
    assert isinstance(clock, FakeClock)
    clock.advance(compute)
    if fail:
        runtime.queue.fail(lease, "engine_error", "the model produced NaNs")
    else:
        runtime.queue.complete(lease, OUTPUTS, "testcard")


def key_id(token: str) -> str:
    return token.removeprefix("rf_")[:12]


def test_the_table_shows_every_key_with_local_jobs_and_totals(
    env: dict[str, str], keys: dict[str, str]
) -> None:
    shown = run_main("keys", "usage", *RANGE, env=env)
    assert shown.code == 0, shown.stderr
    lines = shown.stdout.splitlines()
    assert "usage 2024-02-01 .. 2024-03-31 (UTC days)" in shown.stdout
    assert cells(lines, key_id(keys["alpha"])) == ["alpha", DAY, "sora-2", "2", "1", "1", "0", "8"]
    assert cells(lines, key_id(keys["beta"]))[:3] == ["beta", DAY, "sora-2-pro"]
    assert cells(lines, "local")[:3] == ["local", DAY, "sora-2"]
    assert cells(lines, "total") == ["4", "3", "1", "0", "16", "7.250"]


def cells(lines: list[str], first: str) -> list[str]:
    """The cells after ``first`` of the table row that starts with it (compute left out for
    key rows, which end with it)."""
    for line in lines:
        parts = [part for part in line.replace("│", " ").split() if part]
        if parts and parts[0] == first:
            return parts[1:-1] if first != "total" else parts[1:]
    raise AssertionError(f"no row for {first!r} in:\n" + "\n".join(lines))


@pytest.mark.parametrize("how", ["id", "token", "name"])
def test_one_key_by_id_token_or_name(env: dict[str, str], keys: dict[str, str], how: str) -> None:
    wanted = {"id": key_id(keys["alpha"]), "token": keys["alpha"], "name": "alpha"}[how]
    shown = run_main("keys", "usage", wanted, *RANGE, env=env)
    assert shown.code == 0, shown.stderr
    assert f"key {key_id(keys['alpha'])}" in shown.stdout
    assert "sora-2-pro" not in shown.stdout and "local" not in shown.stdout
    assert cells(shown.stdout.splitlines(), DAY) == ["sora-2", "2", "1", "1", "0", "8"]
    assert keys["alpha"] not in shown.stdout + shown.stderr  # a token is never echoed


def test_csv_has_a_header_and_one_row_per_key_day_and_model(
    env: dict[str, str], keys: dict[str, str]
) -> None:
    shown = run_main("keys", "usage", "--csv", *RANGE, env=env)
    assert shown.code == 0, shown.stderr
    rows = list(csv.DictReader(io.StringIO(shown.stdout)))
    by_name = {row["key_name"]: row for row in rows}
    assert set(by_name) == {"alpha", "beta", "local"}
    assert by_name["alpha"] == {
        "key_id": key_id(keys["alpha"]),
        "key_name": "alpha",
        "day": DAY,
        "model": "sora-2",
        "jobs": "2",
        "completed": "1",
        "failed": "1",
        "cancelled": "0",
        "video_seconds": "8",
        "compute_seconds": "3.750",
    }
    assert by_name["local"]["key_id"] == "local"
    assert by_name["beta"]["compute_seconds"] == "3.000"
    local = run_main("keys", "usage", "local", "--csv", *RANGE, env=env)
    assert [row["key_id"] for row in csv.DictReader(io.StringIO(local.stdout))] == ["local"]


def test_the_default_range_is_the_last_30_days(env: dict[str, str], keys: dict[str, str]) -> None:
    before = datetime.now(UTC).date()
    shown = run_main("keys", "usage", env=env)
    after = datetime.now(UTC).date()
    assert shown.code == 0, shown.stderr
    assert shown.stderr.strip() in {
        f"no usage from {today - timedelta(days=29)} to {today} (UTC days)"
        for today in (before, after)  # the same day unless midnight passed
    }
    header = run_main("keys", "usage", "--csv", env=env)
    assert header.stdout.splitlines() == [
        "key_id,key_name,day,model,jobs,completed,failed,cancelled,video_seconds,compute_seconds"
    ]


@pytest.mark.parametrize(
    ("args", "fragments"),
    [
        (("--since", "2026-13-01"), ("--since: '2026-13-01' is not a date", "YYYY-MM-DD")),
        (("--until", "20261201"), ("--until: '20261201' is not a date",)),
        (("--since", "2026-12-02", "--until", "2026-12-01"), ("is after --until 2026-12-01",)),
        (("nobody", *RANGE), ("no API key with id or name 'nobody'", "keys list")),
    ],
)
def test_mistakes_are_one_error_line(
    env: dict[str, str], keys: dict[str, str], args: tuple[str, ...], fragments: tuple[str, ...]
) -> None:
    run_main("keys", "usage", *args, env=env).assert_one_error_line(*fragments)
