from __future__ import annotations

from pathlib import Path

import pytest

from reelforge.core.config import load_settings
from reelforge.domain.errors import ConfigError


def test_defaults_use_sqlite_in_the_data_dir(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    settings = load_settings()
    assert settings.data_dir == tmp_path / "reelforge"
    assert settings.resolved_database_url == f"sqlite:///{tmp_path / 'reelforge' / 'reelforge.db'}"
    assert settings.resolved_media_dir == tmp_path / "reelforge" / "media"
    assert settings.engine == "testcard"


def test_toml_file_is_read_and_environment_wins(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "reelforge.toml"
    config.write_text(
        'engine = "testcard"\nworker_concurrency = 3\nlease_seconds = 90\n'
        "[engine_options]\nstep_delay = 0.5\n"
    )
    monkeypatch.setenv("REELFORGE_LEASE_SECONDS", "45")
    settings = load_settings(config)
    assert settings.worker_concurrency == 3
    assert settings.lease_seconds == 45
    assert settings.engine_options == {"step_delay": 0.5}


def test_config_file_from_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = tmp_path / "c.toml"
    config.write_text("max_attempts = 7\n")
    monkeypatch.setenv("REELFORGE_CONFIG_FILE", str(config))
    assert load_settings().max_attempts == 7


def test_missing_config_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        load_settings(tmp_path / "nope.toml")


@pytest.mark.parametrize(
    ("name", "value", "field"),
    [
        ("REELFORGE_WORKER_CONCURRENCY", "0", "worker_concurrency"),
        ("REELFORGE_LEASE_SECONDS", "soon", "lease_seconds"),
        ("REELFORGE_ENGINE_OPTIONS", "{not json", "engine_options"),
        ("REELFORGE_ENCODE_PRESET", "placebo", "encode_preset"),
        ("REELFORGE_DATABASE_URL", "mysql://db/reelforge", "database_url"),
    ],
)
def test_invalid_values_name_the_setting(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str, field: str
) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError, match=field):
        load_settings()


def test_unknown_setting_in_the_file_is_rejected(tmp_path: Path) -> None:
    config = tmp_path / "c.toml"
    config.write_text("lease_secs = 5\n")
    with pytest.raises(ConfigError, match="lease_secs"):
        load_settings(config)


def test_heartbeat_must_be_shorter_than_the_lease(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REELFORGE_LEASE_SECONDS", "10")
    monkeypatch.setenv("REELFORGE_HEARTBEAT_SECONDS", "10")
    with pytest.raises(ConfigError, match=r"heartbeat_seconds .* must be less than lease_seconds"):
        load_settings()


def test_videos_are_encoded_with_veryfast_unless_configured(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert load_settings().encode_preset == "veryfast"
    monkeypatch.setenv("REELFORGE_ENCODE_PRESET", "medium")
    assert load_settings().encode_preset == "medium"
