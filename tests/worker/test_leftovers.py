"""Render directories of dead attempts are removed by the sweeper and at worker start; the
directory of a live attempt (this process's, or another's sharing the data directory) stays."""

from __future__ import annotations

import secrets
import tempfile
from pathlib import Path

from reelforge.core.runtime import Runtime
from reelforge.domain.jobs import Status
from reelforge.domain.specs import GenerationSpec
from reelforge.storage import layout
from reelforge.worker import Worker
from reelforge.worker.leftovers import LeftoverSweeper, parse, workdir_prefix
from tests.support.settings import SettingsFactory
from tests.support.wait import wait_for


def render_dir(root: Path, job_id: str, token: str, size: int = 1000) -> Path:
    """A directory as an attempt makes it, with ``size`` bytes in two files."""
    root.mkdir(parents=True, exist_ok=True)
    path = Path(tempfile.mkdtemp(prefix=workdir_prefix(job_id, token), dir=root))
    (path / "video.mp4").write_bytes(b"v" * (size - 100))
    (path / "engine").mkdir()
    (path / "engine" / "part").write_bytes(b"p" * 100)
    return path


def legacy_dir(root: Path, job_id: str) -> Path:
    """The name an attempt gave its directory before the lease token was in it."""
    path = Path(tempfile.mkdtemp(prefix=f"job-{job_id}-", dir=root))
    (path / "video.mp4").write_bytes(b"v" * 500)
    return path


def spec() -> GenerationSpec:
    return GenerationSpec.build("a lighthouse at dusk", seconds=4, seed=1)


def test_parse_reads_the_job_and_the_lease_from_the_name(tmp_path: Path) -> None:
    job_id, token = "0b7a3c1e-5d3c-4a8e-9a57-3c1f0e6b2d11", secrets.token_hex(16)
    found = parse(render_dir(tmp_path, job_id, token))
    assert found is not None and (found.job_id, found.lease_token) == (job_id, token)
    old = parse(legacy_dir(tmp_path, job_id))
    assert old is not None and (old.job_id, old.lease_token) == (job_id, None)
    assert parse(tmp_path / "previews") is None


def test_only_the_directories_of_dead_attempts_are_removed(
    make_settings: SettingsFactory,
) -> None:
    settings = make_settings()
    runtime = Runtime.open(settings)
    try:
        running = runtime.database.enqueue(spec())
        finished = runtime.database.enqueue(spec())
        lease = runtime.queue.claim("elsewhere:1", 60)  # another process's live attempt
        assert lease is not None and lease.job_id == running.id
        done = runtime.queue.claim("elsewhere:1", 60)
        assert done is not None
        root = settings.data_dir / "tmp"
        mine = secrets.token_hex(16)
        live = render_dir(root, running.id, lease.token)
        own = render_dir(root, finished.id, mine)  # this process runs it (it says so)
        live_legacy = legacy_dir(root, running.id)
        dead = [
            render_dir(root, running.id, secrets.token_hex(16)),  # an earlier, lost attempt
            render_dir(root, "ffffffff-0000-4000-8000-000000000000", secrets.token_hex(16)),
            legacy_dir(root, "ffffffff-0000-4000-8000-000000000000"),
        ]
        runtime.queue.complete(done, layout.attempt_outputs(done.job_id, done.token), "testcard")
        dead.append(render_dir(root, finished.id, done.token))  # its attempt has ended
        other = root / "not-a-render-dir"
        other.mkdir()

        sweeper = LeftoverSweeper(root, lambda: {mine}, runtime.store.get_jobs)
        reclaimed = sweeper.sweep()

        assert all(not path.exists() for path in dead)
        assert live.exists() and own.exists() and live_legacy.exists() and other.exists()
        assert reclaimed == 3 * 1000 + 500 == sweeper.reclaimed_bytes
        assert sweeper.sweep() == 0  # nothing more to do, and the count stays
        assert sweeper.reclaimed_bytes == reclaimed
    finally:
        runtime.close()


def test_a_starting_worker_removes_what_a_killed_one_left(make_settings: SettingsFactory) -> None:
    settings = make_settings(engine="testcard")
    runtime = Runtime.open(settings)
    try:
        left = render_dir(settings.data_dir / "tmp", runtime.database.enqueue(spec()).id, "ab" * 16)
        worker = Worker(runtime)
        worker.start()
        try:
            assert not left.exists()
            assert worker.tmp_reclaimed_bytes == 1000
            # The job it belonged to runs now, in a directory of its own, removed after it.
            wait_for(
                lambda: runtime.store.count_by_status().get(Status.COMPLETED) == 1, timeout=120
            )
            assert list((settings.data_dir / "tmp").iterdir()) == []
        finally:
            worker.stop()
    finally:
        runtime.close()


def test_metrics_report_the_bytes_reclaimed(tmp_path: Path) -> None:
    from tests.support.apps import running_app  # the whole app: only here

    data_dir = tmp_path / "data"
    render_dir(data_dir / "tmp", "ffffffff-0000-4000-8000-000000000000", "cd" * 16, size=4321)
    with running_app(data_dir) as app, app.anonymous() as client:
        text = client.get("/metrics").text
    assert "reelforge_tmp_reclaimed_bytes_total 4321.0" in text
