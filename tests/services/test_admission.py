"""Admission on its own: a real Database and blob store, the real policies, a fake clock, and
first frames from bytes (no network). Whatever fails leaves nothing queued or stored."""

from __future__ import annotations

import io
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from reelforge.core.config import Settings
from reelforge.domain.errors import IdempotencyConflict, PolicyRefused, SpecError
from reelforge.domain.jobs import Job, Status
from reelforge.engines.base import Frame
from reelforge.policy import FacePolicy, PromptPolicy
from reelforge.services import build_prompt_policy
from reelforge.services.admission import Admission, VideoRequest
from reelforge.services.first_frame import FirstFrame, first_frame_from_bytes
from reelforge.services.metrics import Metrics
from reelforge.storage import LocalBlobStore, layout
from reelforge.store.database import Database, DatabaseError
from reelforge.store.db import create_db_engine, migrate
from reelforge.store.idempotency import IdempotencyKey, StoredResponse
from tests.support.clock import FakeClock

OWNER = "key_1"
RETENTION_SECONDS = 7 * 24 * 3600


def render(job: Job) -> StoredResponse:
    return StoredResponse(202, json.dumps({"id": job.id, "status": job.status.value}), job.id)


def request(prompt: str = "a kite over a beach", **changes: Any) -> VideoRequest:
    return replace(VideoRequest(prompt, "sora-2", "1280x720", "4", seed=5), **changes)


def png(width: int = 1280, height: int = 720) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), (30, 120, 200)).save(buffer, "PNG")
    return buffer.getvalue()


@dataclass
class Frames:
    """A first-frame resolver for bytes; ``before`` runs once, inside the next resolve."""

    before: Callable[[], object] | None = None
    face: bool = False

    def __call__(self, source: str | bytes, width: int, height: int) -> FirstFrame:
        if self.before is not None:
            before, self.before = self.before, None
            before()
        if isinstance(source, str):
            raise SpecError("image URL could not be fetched (test)", field="image")
        frame = first_frame_from_bytes(source, width, height)
        return FirstFrame(face_photo(), frame.png) if self.face else frame


def face_photo() -> Frame:
    from tests.policy.images import paste, sample  # needs scikit-image

    return paste(sample("astronaut"))


class RecordingBlobs(LocalBlobStore):
    def __init__(self, root: Path) -> None:
        super().__init__(root)
        self.put: list[str] = []

    def put_bytes(self, key: str, data: bytes) -> None:
        self.put.append(key)
        super().put_bytes(key, data)

    def files(self) -> set[str]:
        return {p.relative_to(self.root).as_posix() for p in self.root.rglob("*") if p.is_file()}


@dataclass
class Setup:
    admission: Admission
    database: Database
    blobs: RecordingBlobs
    frames: Frames
    clock: FakeClock
    metrics: Metrics

    def job_count(self) -> int:
        return sum(self.database.jobs.count_by_status().values())

    def counted(self, metric: str, **labels: str) -> float:
        return self.metrics.registry.get_sample_value(metric, labels) or 0.0


@pytest.fixture(scope="module")
def prompt_policy(tmp_path_factory: pytest.TempPathFactory) -> PromptPolicy:
    return build_prompt_policy(Settings(data_dir=tmp_path_factory.mktemp("policy")))


@pytest.fixture(scope="module")
def face_policy() -> FacePolicy:
    return FacePolicy()


@pytest.fixture
def setup(
    database_url: str, tmp_path: Path, prompt_policy: PromptPolicy, face_policy: FacePolicy
) -> Iterator[Setup]:
    clock = FakeClock()
    engine = create_db_engine(database_url)
    migrate(engine)
    database = Database(engine, clock=clock)  # no PostgreSQL listener: nothing to wake here
    blobs = RecordingBlobs(tmp_path / "media")
    frames = Frames()
    metrics = Metrics(database.jobs)
    admission = Admission(
        database, blobs, prompt_policy, face_policy, frames, RETENTION_SECONDS, metrics
    )
    yield Setup(admission, database, blobs, frames, clock, metrics)
    database.close()


def submit(s: Setup, req: VideoRequest, key: IdempotencyKey | None = None) -> Job:
    admitted = s.admission.submit(OWNER, req, render=render, idempotency=key)
    assert not admitted.replayed and admitted.response.job_id is not None
    return s.database.jobs.get_job(admitted.response.job_id)


# -- validation and policy ---------------------------------------------------------------------


@pytest.mark.parametrize("entry", ["submit", "admit"])
def test_a_refused_prompt_queues_nothing_and_is_counted(setup: Setup, entry: str) -> None:
    refused = request("Taylor Swift dancing in the rain")
    key = IdempotencyKey(OWNER, "key:r", "fp-1")
    with pytest.raises(PolicyRefused) as raised:
        if entry == "submit":
            setup.admission.submit(OWNER, refused, render=render, idempotency=key)
        else:
            setup.admission.admit(OWNER, refused)
    assert raised.value.category == "real_person"
    assert setup.job_count() == 0
    labels = {"input": "prompt", "category": "real_person"}
    assert setup.counted("reelforge_policy_refusals_total", **labels) == 1
    assert submit(setup, request(), key).status is Status.QUEUED  # the key was never taken


def test_an_unknown_model_is_a_spec_error_on_the_model(setup: Setup) -> None:
    with pytest.raises(SpecError) as raised:
        setup.admission.submit(OWNER, request(model="sora-9"), render=render)
    assert raised.value.field == "model"
    assert setup.job_count() == 0


# -- first frames ------------------------------------------------------------------------------


def test_the_first_frame_is_stored_at_the_layout_key(setup: Setup) -> None:
    job = submit(setup, request(first_frame=png()))
    key = layout.first_frame_key(job.id)
    assert job.spec.first_frame_key == key and setup.blobs.put == [key]
    with setup.blobs.open(key) as handle, Image.open(handle) as image:
        assert image.size == (1280, 720) and image.format == "PNG"
    assert setup.counted("reelforge_jobs_created_total", kind="create") == 1


def test_losing_the_key_after_storing_the_frame_removes_the_frame(setup: Setup) -> None:
    key = IdempotencyKey(OWNER, "key:lost", "fp-1")

    def another_request_takes_the_key() -> None:
        setup.clock.advance(61)  # our claim's lock ran out while we fetched the image
        setup.admission.submit(OWNER, request(first_frame=png()), render=render, idempotency=key)

    setup.frames.before = another_request_takes_the_key
    with pytest.raises(IdempotencyConflict):
        setup.admission.submit(OWNER, request(first_frame=png()), render=render, idempotency=key)
    winner_key, our_key = setup.blobs.put
    assert our_key != winner_key and our_key.endswith(layout.FIRST_FRAME)
    assert setup.blobs.files() == {winner_key}
    assert setup.job_count() == 1
    retry = setup.admission.submit(
        OWNER, request(first_frame=png()), render=render, idempotency=key
    )
    assert retry.replayed and retry.response.job_id is not None
    assert layout.first_frame_key(retry.response.job_id) == winner_key


def test_a_failed_enqueue_removes_the_frame_and_releases_the_key(
    setup: Setup, monkeypatch: pytest.MonkeyPatch
) -> None:
    def database_down(*args: object, **kwargs: object) -> Job:
        raise DatabaseError("the database went away")

    key = IdempotencyKey(OWNER, "key:down", "fp-1")
    with monkeypatch.context() as patch:
        patch.setattr(setup.database, "enqueue", database_down)
        with pytest.raises(DatabaseError):
            submit(setup, request(first_frame=png()), key)
    assert len(setup.blobs.put) == 1 and setup.blobs.files() == set()
    job = submit(setup, request(first_frame=png()), key)  # the same request, retried
    assert setup.blobs.files() == {layout.first_frame_key(job.id)}


@pytest.mark.parametrize(
    ("source", "face", "error"),
    [("https://images.example/a.png", False, SpecError), (png(), True, PolicyRefused)],
    ids=["unreadable_image", "image_with_a_face"],
)
def test_a_refused_image_releases_the_key_for_a_corrected_retry(
    setup: Setup, source: str | bytes, face: bool, error: type[Exception]
) -> None:
    if face:
        pytest.importorskip("skimage", reason="scikit-image provides the face photo")
    setup.frames.face = face
    with pytest.raises(error):
        submit(setup, request(first_frame=source), IdempotencyKey(OWNER, "key:img", "fp-1"))
    assert setup.job_count() == 0 and setup.blobs.files() == set()
    setup.frames.face = False
    corrected = IdempotencyKey(OWNER, "key:img", "fp-2")
    assert submit(setup, request(first_frame=png()), corrected).spec.first_frame_key is not None
    if face:
        assert setup.counted("reelforge_policy_refusals_total", input="image", category="face")


# -- retention and idempotency -----------------------------------------------------------------


def test_expires_at_is_the_clock_plus_retention(setup: Setup) -> None:
    setup.clock.advance(3600)
    job = submit(setup, request())
    assert job.expires_at == setup.clock() + timedelta(seconds=RETENTION_SECONDS)
    assert job.created_at == setup.clock()


def test_an_idempotent_retry_replays_the_stored_response(setup: Setup) -> None:
    key = IdempotencyKey(OWNER, "key:same", "fp-1")
    first = setup.admission.submit(OWNER, request(), render=render, idempotency=key)
    again = setup.admission.submit(OWNER, request(), render=render, idempotency=key)
    assert not first.replayed and again.replayed
    assert again.response == first.response
    assert setup.job_count() == 1
    assert setup.counted("reelforge_jobs_created_total", kind="create") == 1


# -- remix -------------------------------------------------------------------------------------


def test_only_a_completed_video_can_be_remixed(setup: Setup) -> None:
    source = submit(setup, request())
    with pytest.raises(SpecError) as raised:
        setup.admission.submit(OWNER, request("again", remix_of=source), render=render)
    assert raised.value.field == "video_id"
    assert setup.job_count() == 1


def test_a_remix_reuses_the_source_settings_and_first_frame(setup: Setup) -> None:
    source = complete(setup, submit(setup, request(first_frame=png(), seconds="8", seed=11)))
    remix = submit(setup, request("the same kite at night", remix_of=source, seconds="4"))
    assert remix.remixed_from == source.id and remix.spec.prompt == "the same kite at night"
    assert (remix.spec.seconds, remix.spec.seed, remix.spec.size) == (8, 11, "1280x720")
    assert remix.spec.first_frame_key == layout.first_frame_key(remix.id)
    assert read(setup, remix.spec.first_frame_key) == read(setup, source.spec.first_frame_key)
    assert setup.counted("reelforge_jobs_created_total", kind="remix") == 1


def complete(s: Setup, job: Job) -> Job:
    lease = s.database.queue.claim("w1", lease_seconds=30)
    assert lease is not None and lease.job_id == job.id
    outputs = layout.attempt_outputs(job.id, lease.token)
    return s.database.queue.complete(lease, outputs, "testcard")


def read(s: Setup, key: str | None) -> bytes:
    assert key is not None
    with s.blobs.open(key) as handle:
        return handle.read()
