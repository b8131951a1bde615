"""``reelforge keys create --admin``: a key that may read the operator endpoints; listed and
shown as such; an ordinary key is not."""

from __future__ import annotations

from pathlib import Path

from reelforge.core.config import Settings
from reelforge.core.runtime import Runtime
from reelforge.store.keys import ApiKey
from tests.support.cli import run_main


def keys_in(data_dir: Path) -> dict[str, ApiKey]:
    runtime = Runtime.open(Settings(data_dir=data_dir))
    try:
        return {key.name: key for key in runtime.keys.list()}
    finally:
        runtime.close()


def test_admin_keys_are_created_listed_and_shown(tmp_path: Path) -> None:
    env = {"REELFORGE_DATA_DIR": str(tmp_path / "data"), "COLUMNS": "200"}
    admin = run_main("keys", "create", "--name", "ops", "--admin", env=env)
    plain = run_main("keys", "create", "--name", "app", env=env)
    assert admin.code == 0 and plain.code == 0, admin.stderr + plain.stderr
    assert "created admin key" in admin.stderr and "created key" in plain.stderr
    keys = keys_in(tmp_path / "data")
    assert keys["ops"].admin and not keys["app"].admin
    assert admin.stdout.strip().startswith(f"rf_{keys['ops'].id}_")
    listing = run_main("keys", "list", env=env)
    statuses = {cells(line)[2]: cells(line)[4] for line in rows(listing.stdout)}
    assert statuses == {"ops": "active, admin", "app": "active"}
    shown = run_main("keys", "show", keys["ops"].id, env=env)
    assert ["", "admin", "yes", "yes", ""] in [cells(line) for line in rows(shown.stdout)]


def rows(table: str) -> list[str]:
    return [line for line in table.splitlines() if line.startswith("│")]


def cells(row: str) -> list[str]:
    return [cell.strip() for cell in row.split("│")]
