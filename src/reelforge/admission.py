"""Admission: the one way a job enters ReelForge, whichever API surface it came through.

``Admission.submit`` runs the same steps for every surface, so a rule added here holds on all:

1. validate the request into a ``GenerationSpec`` (``SpecError`` names the field);
2. content policy on the prompt (``PolicyRefused``);
3. claim the idempotency key, or replay / refuse (``IdempotencyConflict``);
4. resolve the first frame (data URL, http(s) URL or upload), vet it, check it for faces, and
   store it as ``inputs/<job id>/first_frame.png`` *before* the row exists;
5. insert the job (with the idempotency record, in one transaction), then wake the workers.

Whatever fails after step 3 releases the key and removes the stored frame, so nothing is left
queued or half-written. Surfaces pass ``render`` to turn the new job into their own response
body; that body is what an idempotent retry gets back, byte for byte.
"""

from __future__ import annotations

import functools
import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import timedelta

from reelforge.admission_images import FirstFrame
from reelforge.domain.errors import ReelForgeError, SpecError
from reelforge.domain.jobs import Job, Status
from reelforge.domain.specs import GenerationSpec
from reelforge.metrics import Metrics
from reelforge.policy import FacePolicy, PolicyDecision, PromptPolicy
from reelforge.runtime import Runtime
from reelforge.store.db import WRITE
from reelforge.store.idempotency import (
    ClaimResult,
    IdempotencyKey,
    IdempotencyStore,
    StoredResponse,
)

log = logging.getLogger(__name__)

FIRST_FRAME_NAME = "first_frame.png"


FirstFrameResolver = Callable[[str | bytes, int, int], FirstFrame]
"""(data URL, http(s) URL or uploaded bytes; width; height) -> the vetted frame, or
``SpecError(field="image")`` saying what to send instead."""
Render = Callable[[Job], StoredResponse]


class PolicyRefused(ReelForgeError):
    """The content policy refused the request; ``category`` names what it matched."""

    def __init__(self, category: str, rule: str, message: str) -> None:
        super().__init__(message)
        self.category = category
        self.rule = rule


class IdempotencyConflict(ReelForgeError):
    """The Idempotency-Key is in use. ``reused``: with another body (422); else in flight (409)."""

    def __init__(self, message: str, *, reused: bool) -> None:
        super().__init__(message)
        self.reused = reused


@dataclass(frozen=True, slots=True)
class VideoRequest:
    """A create or remix request in wire-neutral terms."""

    prompt: str
    model: str
    size: str
    seconds: str | int
    first_frame: str | bytes | None = None
    """The first frame: a data URL or an http(s) URL, or the bytes of an uploaded file."""
    remix_of: Job | None = None
    """The source job of a remix: its size, seconds, seed and first frame are reused."""


@dataclass(frozen=True, slots=True)
class Admitted:
    response: StoredResponse
    replayed: bool


@dataclass
class Admission:
    runtime: Runtime
    idempotency: IdempotencyStore
    prompt_policy: PromptPolicy
    face_policy: FacePolicy
    resolve_first_frame: FirstFrameResolver
    retention_seconds: int
    metrics: Metrics

    def submit(
        self,
        owner: str,
        request: VideoRequest,
        *,
        render: Render,
        idempotency: IdempotencyKey | None = None,
    ) -> Admitted:
        # 1. validate
        spec = build_spec(request)
        # 2. prompt policy
        self._enforce(self.prompt_policy.check(spec.prompt), owner, "prompt")
        # 3. idempotency
        if idempotency is not None:
            replayed = self._claim(idempotency)
            if replayed is not None:
                return Admitted(replayed, replayed=True)
        job_id = str(uuid.uuid4())
        try:
            # 4. first frame
            spec = self._store_first_frame(job_id, spec, request, owner)
            # 5. one transaction: job + idempotency record
            response = self._insert(job_id, spec, owner, request, render, idempotency)
        except BaseException:
            self.runtime.blobs.delete_prefix(input_prefix(job_id))
            if idempotency is not None:
                self.idempotency.release(idempotency)
            raise
        self.metrics.job_created("remix" if request.remix_of is not None else "create")
        return Admitted(response, replayed=False)

    def _enforce(self, decision: PolicyDecision, owner: str, what: str) -> None:
        if decision.allowed:
            return
        category = decision.category or "policy"
        rule = decision.rule or "unspecified"
        # Category and rule only: the prompt never goes to the log next to the key.
        log.warning("refused %s: category=%s rule=%s owner=%s", what, category, rule, owner)
        self.metrics.refused(what, category)
        raise PolicyRefused(category, rule, decision.message)

    def _claim(self, ident: IdempotencyKey) -> StoredResponse | None:
        claim = self.idempotency.claim(ident)
        if claim.result is ClaimResult.REPLAY:
            return claim.stored
        if claim.result is ClaimResult.MISMATCH:
            raise IdempotencyConflict(
                "this Idempotency-Key was already used with a different request body; "
                "use a new key for a new request",
                reused=True,
            )
        if claim.result is ClaimResult.IN_FLIGHT:
            raise IdempotencyConflict(
                "a request with this Idempotency-Key is still being processed; "
                "retry in a moment to get its result",
                reused=False,
            )
        return None

    def _store_first_frame(
        self, job_id: str, spec: GenerationSpec, request: VideoRequest, owner: str
    ) -> GenerationSpec:
        source = self._first_frame_source(request)
        if source is None:
            return spec
        frame = self.resolve_first_frame(source, spec.width, spec.height)
        self._enforce(self.face_policy.check(frame.rgb), owner, "image")
        key = f"{input_prefix(job_id)}/{FIRST_FRAME_NAME}"
        self.runtime.blobs.put_bytes(key, frame.png)
        return replace(spec, first_frame_key=key)

    def _first_frame_source(self, request: VideoRequest) -> str | bytes | None:
        if request.first_frame is not None:
            return request.first_frame
        source = request.remix_of
        if source is None or source.spec.first_frame_key is None:
            return None
        try:
            with self.runtime.blobs.open(source.spec.first_frame_key) as handle:
                return handle.read()
        except FileNotFoundError:
            raise SpecError(
                "the source video can no longer be remixed: its first-frame image was deleted; "
                "create a new video instead",
                field="video_id",
            ) from None

    def _insert(
        self,
        job_id: str,
        spec: GenerationSpec,
        owner: str,
        request: VideoRequest,
        render: Render,
        idempotency: IdempotencyKey | None,
    ) -> StoredResponse:
        store = self.runtime.store
        create = functools.partial(
            store.create_job,
            spec,
            owner,
            job_id=job_id,
            remixed_from=request.remix_of.id if request.remix_of else None,
            expires_at=store.clock() + timedelta(seconds=self.retention_seconds),
        )
        if idempotency is None:
            # The store's own short transaction (it wakes the workers); render after commit,
            # outside SQLite's write lock.
            return render(create())
        with store.engine.connect().execution_options(**WRITE) as conn, conn.begin():
            job = create(connection=conn)
            response = render(job)
            if not self.idempotency.complete(conn, idempotency, response):
                # Our claim expired and another request took the key: it owns the job.
                raise IdempotencyConflict(
                    "another request with this Idempotency-Key took over; retry to get its result",
                    reused=False,
                )
        self.runtime.signals.job_enqueued()
        return response


def build_spec(request: VideoRequest) -> GenerationSpec:
    source = request.remix_of
    if source is None:
        return GenerationSpec.build(
            request.prompt, model=request.model, size=request.size, seconds=request.seconds
        )
    if source.status is not Status.COMPLETED:
        raise SpecError(
            f"the source video is {source.status.value}; only a completed video can be remixed "
            "(poll it until it completes)",
            field="video_id",
        )
    # A remix keeps everything but the prompt, so the new clip matches the old one's framing.
    return GenerationSpec.build(
        request.prompt,
        model=source.spec.model,
        size=source.spec.size,
        seconds=source.spec.seconds,
        seed=source.spec.seed,
    )


def input_prefix(job_id: str) -> str:
    """Blob prefix of a job's inputs; never under ``jobs/<id>``, which the worker prunes."""
    return f"inputs/{job_id}"
