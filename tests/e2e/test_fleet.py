"""A fleet that shares nothing but PostgreSQL and S3.

``reelforge serve --no-workers`` and two ``reelforge worker`` processes, each with its own data
directory, on one PostgreSQL schema and one bucket of a real S3 protocol server. Jobs go in
through both surfaces (the ``openai`` SDK on ``/v1/videos``, httpx on the seed surface); one
worker is SIGKILLed mid-job. Every job completes exactly once (one completed attempt, one set
of objects in the bucket) and every file is served by the API process, whose data directory
never holds a media file.

``processes`` runs the roles on loopback; ``netns`` puts each in its own network namespace, so
they reach the database and the store only through the test bridge (skipped, with the reason,
where namespaces cannot be made: not root, no iproute2).
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import openai
import pytest

from reelforge.domain.jobs import Job, Status
from reelforge.media import probe
from tests.support.engines import FAST_FAILOVER
from tests.support.fleet import API, Fleet
from tests.support.netns import Loopback, Namespaces, netns_unavailable
from tests.support.s3 import S3Bucket
from tests.support.settings import fast_settings
from tests.support.wait import wait_for

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.slow,
    # Three processes start and render six jobs: minutes on a loaded two-core machine.
    pytest.mark.timeout(600),
    # The SDK marks the Sora endpoints deprecated (OpenAI shut them down).
    pytest.mark.filterwarnings("ignore::DeprecationWarning"),
]

SEED = "/vendors/openai/v1/sora/generation"
WORKERS = ("worker-a", "worker-b")
PER_SURFACE = 3
MEDIA_SUFFIXES = {".mp4", ".webp", ".jpg", ".jpeg", ".png"}
FLEET_LEASES = {"lease_seconds": 4.0, "max_attempts": 5}
"""Three processes render on a shared machine: a lease that outlasts a starved process's missed
heartbeats, and room for a retry lost that way on top of the killed attempt."""


@pytest.fixture(params=["processes", "netns"])
def fleet(
    request: pytest.FixtureRequest, pg_schema_url: str, s3_bucket: S3Bucket, tmp_path: Path
) -> Iterator[Fleet]:
    hosts: Loopback | Namespaces
    if request.param == "netns":
        reason = netns_unavailable()
        if reason:
            pytest.skip(reason)
        hosts = Namespaces([API, *WORKERS])
    else:
        hosts = Loopback()
    settings = fast_settings(
        tmp_path / "observer",
        database_url=pg_schema_url,
        **{**FAST_FAILOVER, **FLEET_LEASES},
        **s3_bucket.settings(),
    )
    try:
        fleet = Fleet(settings, s3_bucket, hosts, tmp_path)
        try:
            fleet.start_api()
            for role in WORKERS:
                fleet.start_worker(role)
            fleet.wait_api_ready()
            yield fleet
        finally:
            fleet.close()
    finally:
        hosts.close()


def test_two_workers_without_shared_disk_complete_every_job_once(
    fleet: Fleet, tmp_path: Path
) -> None:
    client = openai.OpenAI(api_key=fleet.token, base_url=fleet.base_url + "/v1", max_retries=0)
    openai_ids = [
        client.videos.create(prompt=f"a red kite over a park, take {n}", seconds="4").id
        for n in range(PER_SURFACE)
    ]
    seed_ids = [submit_seed(fleet, n) for n in range(PER_SURFACE)]
    job_ids = [job_id(video) for video in openai_ids] + seed_ids

    victim = wait_for(lambda: mid_job_on(fleet, job_ids, "worker-a"), timeout=120, interval=0.1)
    if isinstance(fleet.hosts, Namespaces):
        # Each role is a network host of its own (checked now: all are long past their exec).
        assert len({net_namespace(pid) for pid in fleet.pids()} | {net_namespace("self")}) == 4
    killed = fleet.observer.store.attempts(victim)[-1]
    fleet.kill("worker-a")
    assert fleet.observer.store.get_job(victim).status is Status.RUNNING  # its lease left behind

    # The other worker takes the job over once the lease expires; then the killed host comes
    # back with the same disk, rejoins, and removes the render directory its crash left.
    wait_for(lambda: all_finished(fleet, [victim]), timeout=120, interval=0.2)
    fleet.start_worker("worker-a")
    jobs = wait_for(lambda: all_finished(fleet, job_ids), timeout=180, interval=0.2)
    assert_completed_exactly_once(fleet, jobs, victim, killed.attempt)
    assert_bucket_holds_one_set_each(fleet, jobs)
    for video in openai_ids:
        assert_served_through_sdk(fleet, client, video)
    served = tmp_path / "served.mp4"
    client.videos.download_content(openai_ids[0]).write_to_file(served)
    info = probe(served)
    assert (info.width, info.height) == (720, 1280)  # the OpenAI surface's default size
    assert info.duration == pytest.approx(4.0, abs=0.1)
    for task in seed_ids:
        assert_served_through_seed_links(fleet, task)
    # The API served every byte from the bucket: no media file ever reached its disk.
    assert not [path for path in fleet.files(API) if path.suffix in MEDIA_SUFFIXES]
    wait_for(lambda: not any(render_dirs(fleet, worker) for worker in WORKERS), timeout=60)
    assert all(fleet.processes[worker].poll() is None for worker in WORKERS)


def net_namespace(pid: int | str) -> str:
    return os.readlink(f"/proc/{pid}/ns/net")


def render_dirs(fleet: Fleet, worker: str) -> list[Path]:
    return list((fleet.data_dir(worker) / "tmp").glob("job-*"))


def submit_seed(fleet: Fleet, n: int) -> str:
    body = {"prompt": f"a harbour in the rain, take {n}", "seconds": "4", "size": "1280x720"}
    headers = {"Authorization": f"Bearer {fleet.token}"}
    response = httpx.post(fleet.base_url + SEED, json=body, headers=headers, timeout=30)
    assert response.status_code == 202, response.text
    return str(response.json()["task_info"]["id"])


def job_id(video_id: str) -> str:
    return str(uuid.UUID(video_id.removeprefix("video_")))


def mid_job_on(fleet: Fleet, job_ids: list[str], worker: str) -> str:
    """A job ``worker`` is rendering (past a tenth of it); "" while there is none."""
    store = fleet.observer.store
    for jid in job_ids:
        job = store.get_job(jid)
        if job.status is Status.RUNNING and job.progress > 0.1:
            current = store.attempts(jid)[-1]
            if current.worker == worker and current.ended_at is None:
                return jid
    return ""


def all_finished(fleet: Fleet, job_ids: list[str]) -> list[Job]:
    """The jobs, once all have finished; [] until then."""
    jobs = [fleet.observer.store.get_job(jid) for jid in job_ids]
    return jobs if all(job.status.is_terminal for job in jobs) else []


def assert_completed_exactly_once(
    fleet: Fleet, jobs: list[Job], victim: str, killed_attempt: int
) -> None:
    store = fleet.observer.store
    for job in jobs:
        assert job.status is Status.COMPLETED, (job.id, job.error_message)
        assert job.outputs is not None and job.lease_token is None
        attempts = store.attempts(job.id)
        outcomes = [attempt.outcome for attempt in attempts]
        # One completed attempt, the last. A starved worker (a loaded CI machine) may miss its
        # heartbeats and lose a lease too: such an attempt is "lost", its output discarded.
        assert outcomes.count("completed") == 1 and outcomes[-1] == "completed", outcomes
        assert set(outcomes[:-1]) <= {"lost"}, outcomes
        if job.id == victim:
            killed = next(a for a in attempts if a.attempt == killed_attempt)
            assert killed.outcome == "lost" and killed.worker == "worker-a"
            assert attempts[-1].worker == "worker-b"  # worker-a came back only afterwards
        assert job.attempts == len(attempts)
    counts = store.count_by_status()
    assert counts[Status.RUNNING] == 0 and counts[Status.QUEUED] == 0


def assert_bucket_holds_one_set_each(fleet: Fleet, jobs: list[Job]) -> None:
    """Exactly the winning attempts' files: nothing from the killed attempt, no second copy."""
    prefix = f"{fleet.bucket.prefix}/"
    stored = sorted(key.removeprefix(prefix) for key in fleet.bucket.object_keys())
    expected = []
    for job in jobs:
        assert job.outputs is not None
        winner = fleet.observer.store.attempts(job.id)[-1].lease_token
        files = [job.outputs.video, job.outputs.thumbnail, job.outputs.spritesheet]
        assert all(key.startswith(f"jobs/{job.id}/{winner}/") for key in files), files
        expected += files
    assert stored == sorted(expected)


def stored_bytes(fleet: Fleet, key: str) -> bytes:
    obj = fleet.bucket.client.get_object(
        Bucket=fleet.bucket.name, Key=f"{fleet.bucket.prefix}/{key}"
    )
    data: bytes = obj["Body"].read()
    return data


def assert_served_through_sdk(fleet: Fleet, client: openai.OpenAI, video_id: str) -> None:
    job = fleet.observer.store.get_job(job_id(video_id))
    assert job.outputs is not None
    video = client.videos.download_content(video_id)
    assert video.content == stored_bytes(fleet, job.outputs.video)
    thumbnail = client.videos.download_content(video_id, variant="thumbnail")
    assert thumbnail.response.headers["content-type"] == "image/webp"
    assert thumbnail.content == stored_bytes(fleet, job.outputs.thumbnail)
    sprites = client.videos.download_content(video_id, variant="spritesheet")
    assert sprites.response.headers["content-type"] == "image/jpeg"
    assert sprites.content == stored_bytes(fleet, job.outputs.spritesheet)


def assert_served_through_seed_links(fleet: Fleet, task_id: str) -> None:
    job = fleet.observer.store.get_job(task_id)
    assert job.outputs is not None
    headers = {"Authorization": f"Bearer {fleet.token}"}
    with httpx.Client(base_url=fleet.base_url, headers=headers, timeout=30) as http:
        task = http.get(f"{SEED}/{task_id}").json()
        assert task["task_info"]["status"] == "completed", task
        (link,) = task["videos"]
        assert link.startswith(fleet.base_url + "/files/videos/")
        video = httpx.get(link, timeout=30)  # a signed link: no key
        assert video.status_code == 200 and video.content == stored_bytes(fleet, job.outputs.video)
        # The same row on the other surface: its thumbnail and spritesheet.
        content = f"/v1/videos/video_{uuid.UUID(task_id).hex}/content"
        for variant, key in (
            ("thumbnail", job.outputs.thumbnail),
            ("spritesheet", job.outputs.spritesheet),
        ):
            response = http.get(content, params={"variant": variant})
            assert response.status_code == 200 and response.content == stored_bytes(fleet, key)
