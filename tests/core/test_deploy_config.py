"""The fleet deployment files in ``deploy/``: the example config loads as it is written, keeps
its secrets out (they come from the EnvironmentFile), and the systemd units are valid."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

from reelforge.core.config import load_settings
from tests.support.settings import REPO_ROOT

DEPLOY = REPO_ROOT / "deploy"
CONFIG = DEPLOY / "reelforge.toml"
UNITS = ("reelforge-api.service", "reelforge-worker.service")


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Only the file (and what a test sets) configures: none of this machine's variables."""
    for name in list(os.environ):
        if name.startswith(("REELFORGE_", "AWS_")):
            monkeypatch.delenv(name)


def env_file_entries() -> dict[str, str]:
    lines = (DEPLOY / "reelforge.env.example").read_text().splitlines()
    pairs = (line.split("=", 1) for line in lines if line.strip() and not line.startswith("#"))
    return {name.strip(): value.strip() for name, value in pairs}


def test_example_config_loads_with_postgres_and_s3_and_no_secrets() -> None:
    settings = load_settings(CONFIG)
    database = make_url(settings.resolved_database_url)
    assert database.get_backend_name() == "postgresql" and database.password is None
    assert settings.blob_url is not None and settings.blob_url.startswith("s3://")
    assert settings.s3_endpoint_url and settings.s3_addressing_style == "path"
    assert settings.data_dir == Path("/var/lib/reelforge")
    assert settings.s3_access_key_id is None and settings.s3_secret_access_key is None
    assert settings.url_signing_secret is None


def test_env_file_supplies_the_secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    entries = env_file_entries()
    assert "PGPASSWORD" in entries  # libpq's own variable: not a setting
    for name, value in entries.items():
        monkeypatch.setenv(name, value)
    settings = load_settings(CONFIG)
    assert settings.s3_access_key_id and settings.s3_secret_access_key is not None
    assert settings.url_signing_secret
    assert settings.blob_url is not None  # the file's settings still apply under the env's


def test_units_start_the_two_roles_with_the_config() -> None:
    for unit in UNITS:
        text = (DEPLOY / unit).read_text()
        assert "EnvironmentFile=/etc/reelforge/reelforge.env" in text
        assert "--config /etc/reelforge/reelforge.toml" in text
    assert "serve --no-workers" in (DEPLOY / "reelforge-api.service").read_text()
    assert "bin/reelforge worker " in (DEPLOY / "reelforge-worker.service").read_text()


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="needs systemd-analyze")
def test_units_pass_systemd_verify(tmp_path: Path) -> None:
    """``systemd-analyze verify`` on copies whose ExecStart names this environment's
    ``reelforge`` (verify checks that the program exists)."""
    reelforge = Path(sys.executable).with_name("reelforge")
    if not reelforge.exists():
        pytest.skip("the reelforge script is not installed next to this interpreter")
    for unit in UNITS:
        text = (DEPLOY / unit).read_text()
        (tmp_path / unit).write_text(
            text.replace("/opt/reelforge/venv/bin/reelforge", str(reelforge))
        )
    result = subprocess.run(
        ["systemd-analyze", "verify", *(str(tmp_path / unit) for unit in UNITS)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    # Unknown keys and bad values are only warned about (exit status 0): none may be printed.
    assert result.returncode == 0 and not result.stderr.strip(), result.stderr
