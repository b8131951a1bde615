"""Settings for tests: short leases and polls, and the environment of a ``reelforge``
subprocess that uses the same settings."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from reelforge.core.config import Settings

REPO_ROOT = Path(__file__).resolve().parents[2]
SettingsFactory = Callable[..., Settings]
"""``make_settings(**overrides)``: the fixture that builds Settings on the test's database."""


def fast_settings(data_dir: Path, **overrides: Any) -> Settings:
    """Settings with short leases and polls so lifecycle tests finish quickly."""
    values: dict[str, Any] = {
        "data_dir": data_dir,
        "lease_seconds": 5.0,
        "heartbeat_seconds": 0.5,
        "poll_seconds": 0.2,
        "sweep_seconds": 0.5,
        "shutdown_grace_seconds": 5.0,
        # The fastest x264 preset: these tests check the contract (size, length, codecs, audio),
        # which every preset keeps; tests/media checks the default preset's output.
        "encode_preset": "ultrafast",
        # In-process workers: API tests reach ``context.worker`` (its heartbeat, its engine);
        # tests of the worker child process ask for "process".
        "embedded_workers_mode": "thread",
        # Lexicons only: the semantic layer loads torch and a model (seconds per process);
        # tests/policy/test_semantic.py and the CLI's own runs cover it.
        "policy_semantic": "off",
    }
    values.update(overrides)
    return Settings(**values)


def subprocess_env(settings: Settings, **extra: str) -> dict[str, str]:
    """Environment for a ``reelforge`` subprocess that uses the same settings."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("REELFORGE_")}
    env.update(
        {
            "REELFORGE_DATA_DIR": str(settings.data_dir),
            "REELFORGE_DATABASE_URL": settings.resolved_database_url,
            "REELFORGE_ENGINE": settings.engine,
            "REELFORGE_LEASE_SECONDS": str(settings.lease_seconds),
            "REELFORGE_HEARTBEAT_SECONDS": str(settings.heartbeat_seconds),
            "REELFORGE_POLL_SECONDS": str(settings.poll_seconds),
            "REELFORGE_SWEEP_SECONDS": str(settings.sweep_seconds),
            "REELFORGE_ENCODE_PRESET": settings.encode_preset,
            "REELFORGE_POLICY_SEMANTIC": settings.policy_semantic,
            "PYTHONPATH": str(REPO_ROOT),
            "PYTHONUNBUFFERED": "1",
        }
    )
    if settings.engine_options:
        env["REELFORGE_ENGINE_OPTIONS"] = json.dumps(settings.engine_options)
    env.update(extra)
    return env
