"""`reelforge keys`, the first-run key, health probes and the retention sweeper."""

from __future__ import annotations

import stat
from datetime import timedelta
from pathlib import Path

import openai
import pytest
from typer.testing import CliRunner

from reelforge.api.bootstrap import FIRST_KEY_FILE, ensure_first_key
from reelforge.cli.keys import keys_app
from reelforge.core.config import Settings
from reelforge.core.runtime import Runtime
from reelforge.services.retention import RetentionSweeper
from tests.support.apps import InProcessApp

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def test_keys_cli_create_list_revoke(tmp_path: Path) -> None:
    runner = CliRunner()
    env = {"REELFORGE_DATA_DIR": str(tmp_path / "data")}
    created = runner.invoke(keys_app, ["create", "--name", "ci"], env=env)
    assert created.exit_code == 0, created.output
    token = created.stdout.strip().splitlines()[-1]
    assert token.startswith("rf_")
    settings = Settings(data_dir=tmp_path / "data")
    runtime = Runtime.open(settings)
    try:
        keys = runtime.keys
        key = keys.verify(token)
        assert key is not None and key.name == "ci"
        listed = runner.invoke(keys_app, ["list"], env=env)
        assert key.id in listed.stdout and "active" in listed.stdout
        assert token not in listed.stdout  # shown once, never again
        revoked = runner.invoke(keys_app, ["revoke", key.id], env=env)
        assert revoked.exit_code == 0, revoked.output
        assert keys.verify(token) is None
        unknown = runner.invoke(keys_app, ["revoke", "000000000000"], env=env)
        assert unknown.exit_code == 1 and "keys list" in unknown.output
    finally:
        runtime.close()


def test_keys_are_stored_hashed(tmp_path: Path) -> None:
    runtime = Runtime.open(Settings(data_dir=tmp_path / "data"))
    try:
        new = runtime.keys.create("hashed")
        raw = (tmp_path / "data" / "reelforge.db").read_bytes()
        assert new.token.encode() not in raw
        # The secret part may itself contain "_" (URL-safe base64): split off the id only.
        secret = new.token.removeprefix("rf_").split("_", 1)[1]
        assert len(secret) == 43 and secret.encode() not in raw
    finally:
        runtime.close()


def test_first_run_writes_one_key_to_a_private_file(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "data")
    runtime = Runtime.open(settings)
    try:
        keys = runtime.keys
        ensure_first_key(settings, keys)
        path = settings.data_dir / FIRST_KEY_FILE
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        token = path.read_text().strip()
        assert keys.verify(token) is not None
        ensure_first_key(settings, keys)  # a second start creates nothing
        assert len(keys.list()) == 1
    finally:
        runtime.close()


def test_health_needs_no_key(api_app: InProcessApp) -> None:
    with api_app.anonymous() as http:
        assert http.get("/healthz").json() == {"status": "ok"}
        ready = http.get("/readyz")
    assert ready.status_code == 200, ready.text
    body = ready.json()
    assert body["status"] == "ready" and body["database"] == "ok"
    assert body["engine_state"] == "loaded" and body["engine"] == "testcard"
    assert isinstance(body["queue_depth"], int)
    assert body["policy_layers"] == ["lexicon"]  # the test settings leave the model off
    assert body["face_detector"] == "ssd"


def test_retention_sweeper_deletes_expired_media(api_app: InProcessApp) -> None:
    with api_app.anonymous() as http:
        base_url = api_app.base_url + "/v1"
        client = openai.OpenAI(api_key=api_app.token, base_url=base_url, http_client=http)
        video = client.videos.create_and_poll(prompt="short-lived", seconds="4")
        runtime = api_app.runtime
        job = runtime.store.get_job(_job_id(video.id))
        assert job.expires_at is not None
        lifetime = (job.expires_at - job.created_at).total_seconds()
        assert lifetime == pytest.approx(api_app.settings.retention_seconds, abs=1)
        sweeper = RetentionSweeper(runtime, 3600)
        assert sweeper.sweep_once(now=job.expires_at - timedelta(seconds=1)) == 0
        assert sweeper.sweep_once(now=job.expires_at + timedelta(seconds=1)) >= 1
        assert not list(runtime.blobs.list_prefix(f"jobs/{job.id}"))
        with pytest.raises(openai.NotFoundError):
            client.videos.retrieve(video.id)


def _job_id(video_id: str) -> str:
    import uuid

    return str(uuid.UUID(video_id.removeprefix("video_")))
