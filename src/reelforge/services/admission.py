"""Admission: the one way a job enters ReelForge, from either API surface or the command line.

``Admission.submit`` (API surfaces, with a rendered response and idempotency) and
``Admission.admit`` (``reelforge generate``) run the same steps, so a rule added here holds
on every entry point (``Admission.check`` runs steps 1 and 2 alone, as a dry run that
``POST /v1/prompt/check`` answers with while a prompt is being written):

1. validate the request into a ``GenerationSpec`` (``SpecError`` names the field), and its
   ``webhook_url`` under the webhook SSRF rules (``SpecError(field="webhook_url")``); the
   key's model allowlist (``ModelNotAllowed``);
2. content policy on the prompt (``PolicyRefused``);
3. claim the idempotency key, or replay / refuse (``IdempotencyConflict``);
4. resolve the first frame (data URL, http(s) URL or bytes), vet it, check it for faces, and
   store it at ``layout.first_frame_key`` *before* the row exists;
5. enqueue: the key's request rate, queue cap and budgets checked under its lock
   (``QuotaExceeded``; a first look before step 4 when that step is costly), then the job
   with its retention deadline (and the idempotency record) in one transaction, then the
   workers are woken (``Database.enqueue``).

Whatever fails after step 3 releases the key and removes the stored frame, so nothing is left
queued or half-written. Admission depends only on what it is given: the database, the blob
store, the policies, a first-frame resolver and the metrics; it knows nothing of HTTP.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import timedelta

from reelforge.core.logs import current_request_id
from reelforge.domain.errors import IdempotencyConflict, PolicyRefused, SpecError
from reelforge.domain.events import Surface
from reelforge.domain.jobs import Job, Status
from reelforge.domain.quotas import KeyLimits, ModelNotAllowed, QuotaExceeded
from reelforge.domain.specs import GenerationSpec
from reelforge.notify.urls import WebhookUrlPolicy
from reelforge.policy import FacePolicy, PolicyDecision, PromptPolicy
from reelforge.services.first_frame import FirstFrameResolver
from reelforge.services.metrics import Metrics
from reelforge.storage import layout
from reelforge.storage.base import BlobStore
from reelforge.store.database import Database, IdempotentReply
from reelforge.store.idempotency import Claim, ClaimResult, IdempotencyKey, StoredResponse
from reelforge.store.keys import ApiKey

log = logging.getLogger(__name__)

Render = Callable[[Job], StoredResponse]
"""Turns the new job into a surface's response body; an idempotent retry replays it."""


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
    seed: int | None = None
    webhook_url: str | None = None
    """Also receives the job's terminal events, signed with the key's own webhook secret."""
    surface: Surface | None = None
    """The API surface that created the job (its events then carry that surface's id)."""


@dataclass(frozen=True, slots=True)
class Admitted:
    response: StoredResponse
    replayed: bool


@dataclass
class Admission:
    database: Database
    blobs: BlobStore
    prompt_policy: PromptPolicy
    face_policy: FacePolicy
    resolve_first_frame: FirstFrameResolver
    retention_seconds: int
    metrics: Metrics
    webhook_urls: WebhookUrlPolicy = field(default_factory=WebhookUrlPolicy)
    """Which ``webhook_url`` values may receive deliveries (the operator's allowlist)."""
    default_limits: KeyLimits = field(default_factory=KeyLimits)
    """Limits for keys that set none of their own (settings ``default_*``)."""

    def submit(
        self,
        owner: str,
        request: VideoRequest,
        *,
        render: Render,
        idempotency: IdempotencyKey | None = None,
        key: ApiKey | None = None,
    ) -> Admitted:
        """Admit a request from an API surface; the response is ``render(job)``, or the
        stored response of an earlier request with the same idempotency key. ``key`` (the
        caller's, whose id is ``owner``): its limits apply."""
        try:
            return self._submit(owner, request, render, idempotency, key)
        except QuotaExceeded as exc:
            self._refused_by_limit(owner, exc.limit)
            raise
        except ModelNotAllowed:
            self._refused_by_limit(owner, "model_not_allowed")
            raise

    def _refused_by_limit(self, owner: str, limit: str) -> None:
        log.debug("refused create: limit=%s owner=%s", limit, owner)
        self.metrics.quota_refused(limit)

    def _submit(
        self,
        owner: str,
        request: VideoRequest,
        render: Render,
        idempotency: IdempotencyKey | None,
        key: ApiKey | None,
    ) -> Admitted:
        limits = self._limits(key)
        spec = self._checked_spec(request, owner)
        if key is not None:
            self._check_key(key, request, spec, limits)
        if idempotency is None:
            job = self._enqueue(owner, request, spec, None, limits)
            return Admitted(render(job), replayed=False)
        claim = self._claim(idempotency)
        if claim.stored is not None:
            return Admitted(claim.stored, replayed=True)
        token = claim.token or ""
        try:
            reply = IdempotentReply(idempotency, token, render)
            job = self._enqueue(owner, request, spec, reply, limits)
        except BaseException:
            self.database.idempotency.release(idempotency, token)
            raise
        return Admitted(render(job), replayed=False)

    def admit(self, owner: str | None, request: VideoRequest) -> Job:
        """Admit a request from this machine (``reelforge generate``): the same checks."""
        return self._enqueue(owner, request, self._checked_spec(request, owner), None, None)

    def check(self, request: VideoRequest, key: ApiKey | None = None) -> GenerationSpec:
        """A dry run of steps 1 and 2 (validation, the key's model allowlist, content policy)
        for feedback while a request is being written: raises what ``submit`` would raise for
        them, and records nothing (no job, no refusal in the metrics or the log). The first
        frame, the idempotency key and the key's limits are checked by ``submit`` only."""
        spec = self._checked_spec(request, None, record=False)
        if key is not None:
            _check_model(key, spec)
        return spec

    def _check_key(
        self, key: ApiKey, request: VideoRequest, spec: GenerationSpec, limits: KeyLimits | None
    ) -> None:
        """The key's model allowlist; before a first frame is fetched and checked, a first
        look at its queue cap and budgets (the binding check comes at enqueue)."""
        _check_model(key, spec)
        costly = request.first_frame is not None or request.remix_of is not None
        if limits is not None and costly:
            self.database.quotas.precheck(key.id, spec, limits)

    def _limits(self, key: ApiKey | None) -> KeyLimits | None:
        """The key's limits in force (its own over the server defaults)."""
        return None if key is None else key.limits.effective(self.default_limits)

    def _checked_spec(
        self, request: VideoRequest, owner: str | None, *, record: bool = True
    ) -> GenerationSpec:
        # 1. validate, 2. prompt policy
        spec = build_spec(request)
        if request.webhook_url is not None:
            self.webhook_urls.check(request.webhook_url)
        self._enforce(self.prompt_policy.check(spec.prompt), owner, "prompt", record=record)
        return spec

    def _enqueue(
        self,
        owner: str | None,
        request: VideoRequest,
        spec: GenerationSpec,
        reply: IdempotentReply | None,
        limits: KeyLimits | None,
    ) -> Job:
        job_id = str(uuid.uuid4())
        try:
            # 4. first frame
            spec = self._store_first_frame(job_id, spec, request, owner)
            if request.webhook_url is not None and owner is not None:
                self.database.webhooks.owner_secret(owner)  # so the key can read it at once
            # 5. one transaction: job + idempotency record
            job = self.database.enqueue(
                spec,
                owner,
                job_id=job_id,
                remixed_from=request.remix_of.id if request.remix_of else None,
                retention=timedelta(seconds=self.retention_seconds),
                idempotency=reply,
                webhook_url=request.webhook_url,
                surface=request.surface,
                limits=limits,
                request_id=current_request_id(),
            )
        except BaseException:
            self.blobs.delete_prefix(layout.input_prefix(job_id))
            raise
        self.metrics.job_created("remix" if request.remix_of is not None else "create")
        return job

    def _enforce(
        self, decision: PolicyDecision, owner: str | None, what: str, *, record: bool = True
    ) -> None:
        if decision.allowed:
            return
        category = decision.category or "policy"
        rule = decision.rule or "unspecified"
        if record:  # a dry run refuses nothing: it only says what a create would meet
            # Category and rule only: the prompt never goes to the log next to the key.
            log.warning(
                "refused %s: category=%s rule=%s owner=%s", what, category, rule, owner or "local"
            )
            self.metrics.refused(what, category)
        raise PolicyRefused(category, rule, decision.message)

    def _claim(self, ident: IdempotencyKey) -> Claim:
        """Our claim on the key (with its token), or a replay (with the stored response)."""
        claim = self.database.idempotency.claim(ident)
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
        return claim

    def _store_first_frame(
        self, job_id: str, spec: GenerationSpec, request: VideoRequest, owner: str | None
    ) -> GenerationSpec:
        source = self._first_frame_source(request)
        if source is None:
            return spec
        frame = self.resolve_first_frame(source, spec.width, spec.height)
        self._enforce(self.face_policy.check(frame.rgb), owner, "image")
        key = layout.first_frame_key(job_id)
        self.blobs.put_bytes(key, frame.png)
        return replace(spec, first_frame_key=key)

    def _first_frame_source(self, request: VideoRequest) -> str | bytes | None:
        if request.first_frame is not None:
            return request.first_frame
        source = request.remix_of
        if source is None or source.spec.first_frame_key is None:
            return None
        try:
            with self.blobs.open(source.spec.first_frame_key) as handle:
                return handle.read()
        except FileNotFoundError:
            raise SpecError(
                "the source video can no longer be remixed: its first-frame image was deleted; "
                "create a new video instead",
                field="video_id",
            ) from None


def _check_model(key: ApiKey, spec: GenerationSpec) -> None:
    if key.allowed_models is not None and spec.model not in key.allowed_models:
        raise ModelNotAllowed(spec.model, key.allowed_models)


def build_spec(request: VideoRequest) -> GenerationSpec:
    source = request.remix_of
    if source is None:
        return GenerationSpec.build(
            request.prompt,
            model=request.model,
            size=request.size,
            seconds=request.seconds,
            seed=request.seed,
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
