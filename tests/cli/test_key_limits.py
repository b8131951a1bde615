"""``reelforge keys create/update/show/list`` with limits: values land in the database as given,
and every bad value is one ``error:`` line, exit code 2, with nothing created or changed."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from reelforge.core.config import Settings
from reelforge.core.runtime import Runtime
from reelforge.domain.quotas import UNLIMITED, KeyLimits
from reelforge.store.keys import ApiKey
from tests.support.cli import run_main


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    return {"REELFORGE_DATA_DIR": str(tmp_path / "data"), "COLUMNS": "200"}


def keys_in(env: dict[str, str]) -> list[ApiKey]:
    runtime = Runtime.open(Settings(data_dir=Path(env["REELFORGE_DATA_DIR"])))
    try:
        return runtime.keys.list()
    finally:
        runtime.close()


def created(env: dict[str, str], *options: str) -> ApiKey:
    outcome = run_main("keys", "create", "--name", "team", *options, env=env)
    assert outcome.code == 0, outcome.stderr
    (key,) = keys_in(env)
    assert outcome.stdout.strip().startswith(f"rf_{key.id}_")
    return key


def test_create_stores_every_limit(env: dict[str, str]) -> None:
    key = created(
        env,
        *("--rpm", "60", "--max-queued", "20", "--max-running", "2"),
        *("--daily-video-seconds", "600", "--monthly-video-seconds", "unlimited"),
        *("--daily-gpu-seconds", "3600.5", "--models", "sora-2, sora-2-pro"),
        *("--expires", "30d", "--weight", "3"),
    )
    assert key.limits == KeyLimits(
        rpm=60,
        max_queued=20,
        max_running=2,
        daily_video_seconds=600,
        monthly_video_seconds=UNLIMITED,
        daily_gpu_seconds=3600.5,
    )
    assert key.allowed_models == ("sora-2", "sora-2-pro")
    assert key.weight == 3
    assert key.expires_at is not None
    in_thirty_days = datetime.now(UTC) + timedelta(days=30)
    assert abs((key.expires_at - in_thirty_days).total_seconds()) < 60


def test_update_changes_only_what_is_given(env: dict[str, str]) -> None:
    key = created(env, "--rpm", "60", "--max-queued", "20", "--models", "sora-2")
    outcome = run_main(
        "keys",
        "update",
        key.id,
        *("--rpm", "default", "--daily-video-seconds", "120", "--models", "all"),
        *("--expires", "2099-01-31T12:00Z"),
        env=env,
    )
    assert outcome.code == 0, outcome.stderr
    (updated,) = keys_in(env)
    assert updated.limits == KeyLimits(max_queued=20, daily_video_seconds=120)
    assert updated.allowed_models is None
    assert updated.expires_at == datetime(2099, 1, 31, 12, 0, tzinfo=UTC)


def test_show_and_list_give_the_values_in_force(env: dict[str, str]) -> None:
    env = {**env, "REELFORGE_DEFAULT_RPM": "30", "REELFORGE_DEFAULT_MAX_QUEUED": "10"}
    key = created(env, "--max-queued", "unlimited", "--daily-video-seconds", "600")
    shown = run_main("keys", "show", key.id, env=env)
    assert shown.code == 0, shown.stderr
    rows = {
        cells[0]: cells[1:]
        for line in shown.stdout.splitlines()
        if len(cells := [cell.strip() for cell in line.split("│")[1:-1]]) == 3
    }
    assert rows["rpm"] == ["default", "30"]
    assert rows["max_queued"] == ["unlimited", "unlimited"]
    assert rows["daily_video_seconds"] == ["600", "600"]
    assert rows["models"] == ["all", "all"]
    listed = run_main("keys", "list", env=env)
    assert listed.code == 0, listed.stderr
    assert "rpm=30" in listed.stdout and "daily_video_seconds=600" in listed.stdout
    assert "max_queued" not in listed.stdout  # unlimited for this key


BAD_VALUES = [
    (["--rpm", "-3"], "--rpm must be at least 1 (got '-3')"),
    (["--rpm", "0"], "--rpm must be at least 1"),
    (["--max-queued", "ten"], "--max-queued must be a whole number or unlimited"),
    (["--max-running", "1.5"], "--max-running must be a whole number"),
    (["--daily-video-seconds", "-1"], "--daily-video-seconds must be at least 0"),
    (["--daily-gpu-seconds", "nan"], "--daily-gpu-seconds must be at least 0"),
    (["--monthly-gpu-seconds", "inf"], "--monthly-gpu-seconds must be at least 0"),
    (["--models", "sora-2,sora-9"], "--models: unknown model 'sora-9'"),
    (["--models", " , "], "--models needs at least one model name"),
    (["--expires", "yesterday"], "--expires must be a date or time like 2027-01-31"),
    (["--expires", "2020-01-01"], "--expires: 2020-01-01 is in the past"),
    (["--expires", "0d"], "--expires: a duration must be more than zero"),
    (["--weight", "0"], "--weight must be a whole number from 1 to 100"),
    (["--weight", "many"], "--weight must be a whole number from 1 to 100"),
]


@pytest.mark.parametrize(("options", "message"), BAD_VALUES)
def test_bad_values_create_nothing(env: dict[str, str], options: list[str], message: str) -> None:
    outcome = run_main("keys", "create", "--max-queued", "5", *options, env=env)
    assert outcome.code == 2
    assert outcome.stderr.startswith("error: ") and message in outcome.stderr
    assert len(outcome.stderr.strip().splitlines()) == 1
    assert outcome.stdout == ""
    assert keys_in(env) == []


@pytest.mark.parametrize(("options", "message"), BAD_VALUES[::3])
def test_bad_values_change_nothing(env: dict[str, str], options: list[str], message: str) -> None:
    key = created(env, "--max-queued", "5")
    outcome = run_main("keys", "update", key.id, "--rpm", "9", *options, env=env)
    assert outcome.code == 2
    assert message in outcome.stderr and len(outcome.stderr.strip().splitlines()) == 1
    assert keys_in(env) == [key]


def test_default_is_only_for_update(env: dict[str, str]) -> None:
    outcome = run_main("keys", "create", "--rpm", "default", env=env)
    assert outcome.code == 2
    assert "--rpm must be a whole number or unlimited (got 'default')" in outcome.stderr


def test_update_needs_a_known_key_and_something_to_change(env: dict[str, str]) -> None:
    key = created(env)
    nothing = run_main("keys", "update", key.id, env=env)
    assert nothing.code == 2 and "nothing to change" in nothing.stderr
    unknown = run_main("keys", "update", "0123456789ab", "--rpm", "5", env=env)
    assert unknown.code == 1 and "no API key with id '0123456789ab'" in unknown.stderr
