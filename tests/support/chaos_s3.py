"""The fault suite's S3 outage: the S3 protocol server (moto, ``tests.support.s3.S3Server``)
stopped while jobs reach their uploads and started again on the same port, with the API's
content endpoint downloaded all the while.

moto keeps its buckets in memory, so a stopped server comes back empty; a real store comes back
with its objects. The run copies the bucket just before the stop and puts it back after the
start (``restore``), so the store returns as a durable one would. An attempt that commits in
the instant between the copy and the stop would lose its files to that copy, not to ReelForge:
those jobs are counted apart (``unsaved_by_copy``) rather than as unserved.

Shared by ``tests/chaos/test_s3_outage.py`` and ``bench/chaos/s3_outage.py``.
"""

from __future__ import annotations

import os
import signal
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import httpx

from reelforge.core.runtime import Runtime
from reelforge.domain.jobs import Status
from tests.support.chaos import Say
from tests.support.chaos_serve import Download, ServeProcess, download
from tests.support.outage import create_once
from tests.support.s3 import S3Bucket
from tests.support.wait import wait_for

Objects = dict[str, tuple[bytes, str]]
"""Key -> (body, content type)."""


def snapshot(bucket: S3Bucket) -> Objects:
    copied: Objects = {}
    for key in bucket.object_keys():
        reply = bucket.client.get_object(Bucket=bucket.name, Key=key)
        copied[key] = (reply["Body"].read(), reply.get("ContentType", "binary/octet-stream"))
    return copied


def frozen_snapshot(server: ServeProcess, bucket: S3Bucket) -> Objects:
    """Copy the bucket and stop the store while the workers are frozen (SIGSTOP), so no upload
    lands between the copy and the stop: moto would lose it with its memory, which a durable
    store never does. The pause is a fraction of a second, far inside the lease."""
    workers = server.workers()
    for pid in workers:
        os.kill(pid, signal.SIGSTOP)
    try:
        copied = snapshot(bucket)
        bucket.server.stop()
    finally:
        for pid in workers:
            os.kill(pid, signal.SIGCONT)
    return copied


def restore(bucket: S3Bucket, objects: Objects) -> None:
    """The bucket and its objects again, on a server that came back empty."""
    bucket.client.create_bucket(Bucket=bucket.name)
    for key, (body, content_type) in objects.items():
        bucket.client.put_object(Bucket=bucket.name, Key=key, Body=body, ContentType=content_type)


@dataclass
class Downloader:
    """Downloads every completed job's video in turn, over and over, until stopped; records
    what each download got and the phase of the outage it started in: ``up`` (before the
    stop), ``away``, ``restoring`` (the server back, the copy being put back: the harness's
    doing, not counted), ``back``."""

    base_url: str
    token: str
    runtime: Runtime
    job_ids: list[str]
    phase: str = "up"
    seen: list[tuple[str, Download]] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(60)

    def _run(self) -> None:
        headers = {"Authorization": f"Bearer {self.token}"}
        with httpx.Client(base_url=self.base_url, headers=headers, timeout=30) as client:
            while not self._stop.wait(0.1):  # each download is probed: CPU
                jobs = self.runtime.store.get_jobs(list(self.job_ids))
                for job in jobs.values():
                    if job.status is Status.COMPLETED:
                        phase = self.phase
                        self.seen.append((phase, download(client, job.id)))


@dataclass
class S3OutageRun:
    job_ids: list[str] = field(default_factory=list)
    reference: str = ""  # completed before the outage: downloaded throughout
    downloads: list[tuple[str, Download]] = field(default_factory=list)
    unsaved_by_copy: int = 0
    away_seconds: float = 0.0

    def counts(self, *phases: str) -> dict[str, int]:
        """Download outcomes: ``full``, ``cut`` (the client saw the body end early: an error),
        ``bad`` (a 200 with every declared byte that is not a whole video), else the status."""
        found: Counter[str] = Counter()
        for phase, got in self.downloads:
            if phase in phases:
                kind = "full" if got.full else "cut" if got.cut else "bad" if got.bad else None
                found[kind or str(got.status)] += 1
        return dict(found)


def create(client: httpx.Client, run: S3OutageRun) -> str:
    answer = create_once(client, "openai" if len(run.job_ids) % 2 else "seed")
    assert answer.job_id is not None, answer
    run.job_ids.append(answer.job_id)
    return answer.job_id


def near_upload(runtime: Runtime, job_ids: list[str]) -> bool:
    """A job is encoding: its uploads come within a second or so."""
    jobs = runtime.store.get_jobs(job_ids).values()
    return any(j.status is Status.RUNNING and j.progress >= 0.9 for j in jobs)


def s3_outage(
    runtime: Runtime,
    server: ServeProcess,
    bucket: S3Bucket,
    token: str,
    *,
    jobs: int = 4,
    outage: float = 4.0,
    say: Say = lambda _line: None,
) -> S3OutageRun:
    """One reference job completed; ``jobs`` more created; the S3 server stopped as the first
    of them starts encoding, kept away ``outage`` seconds (creates go on meanwhile), started
    again and its objects put back. Downloads run from before the stop to the end."""
    run = S3OutageRun()
    headers = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=server.base_url, headers=headers, timeout=30) as client:
        run.reference = create(client, run)
        wait_for(lambda: runtime.store.get_job(run.reference).status.is_terminal, timeout=120)
        downloader = Downloader(server.base_url, token, runtime, run.job_ids)
        downloader.start()
        try:
            batch = [create(client, run) for _ in range(jobs)]
            wait_for(lambda: near_upload(runtime, batch), timeout=120, interval=0.02)
            copied = frozen_snapshot(server, bucket)
            downloader.phase = "away"
            stopped = time.monotonic()
            run.unsaved_by_copy = _unsaved(runtime, run.job_ids, copied, bucket)
            say(f"S3 server stopped; {len(copied)} objects copied")
            _during_outage(client, run, outage)
            downloader.phase = "restoring"  # from the start: moto comes back without the bucket
            bucket.server.start()
            restore(bucket, copied)
            run.away_seconds = time.monotonic() - stopped
            downloader.phase = "back"
            say(f"S3 server back after {run.away_seconds:.1f} s")
            wait_for(lambda: _all_terminal(runtime, run.job_ids), timeout=300)
            time.sleep(1.0)  # a few more rounds of downloads with the store back
        finally:
            downloader.stop()
    run.downloads = downloader.seen
    return run


def _during_outage(client: httpx.Client, run: S3OutageRun, outage: float) -> None:
    """Creates go on while the store is away (the database is fine): one a second."""
    deadline = time.monotonic() + outage
    while time.monotonic() < deadline:
        create(client, run)
        time.sleep(min(1.0, max(0.0, deadline - time.monotonic())))


def _all_terminal(runtime: Runtime, job_ids: list[str]) -> bool:
    return all(j.status.is_terminal for j in runtime.store.get_jobs(job_ids).values())


def _unsaved(runtime: Runtime, job_ids: list[str], copied: Objects, bucket: S3Bucket) -> int:
    """Jobs committed by now (the stop) whose files the copy missed (see the module's note)."""
    prefix = f"{bucket.prefix}/" if bucket.prefix else ""
    missed = 0
    for job in runtime.store.get_jobs(job_ids).values():
        outputs: Any = job.outputs
        if job.status is Status.COMPLETED and outputs is not None:
            missed += f"{prefix}{outputs.video}" not in copied
    return missed
