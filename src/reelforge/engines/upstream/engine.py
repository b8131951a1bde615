"""The upstream engine: durable jobs in front of OpenAI-compatible video servers.

1. ``load`` checks each configured upstream: its address is allowed, it answers, it takes our
   key and serves the mapped models. A configuration mistake fails the load with one line that
   says what to fix; an upstream that is only down is taken out of use and probed later (the
   load fails only when none answers).
2. ``generate`` forwards the job (``run.UpstreamRun``): the least loaded healthy upstream gets
   it, the remote id is saved with the job, the job is polled and its video downloaded.
3. The download goes through ``media.conform`` so what we deliver meets our contract exactly
   (size, 24 fps, exact seconds, an AAC track) whatever the upstream sent; what had to change is
   recorded in the job's engine state and in the MP4's ``conform`` tag.
"""

from __future__ import annotations

import logging
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import httpx

from reelforge.domain.errors import ConfigError, EngineLoadError
from reelforge.domain.limits import MODEL_NAMES
from reelforge.engines.base import EngineOutput, EngineRequest, JobControl, StatefulControl
from reelforge.engines.upstream.addresses import AddressRule, Resolver, system_resolver
from reelforge.engines.upstream.metrics import UpstreamMetrics
from reelforge.engines.upstream.openai_client import OpenAIVideosClient
from reelforge.engines.upstream.options import UpstreamConfig, UpstreamOptions
from reelforge.engines.upstream.pool import UpstreamPool, UpstreamSlot
from reelforge.engines.upstream.protocol import (
    UpstreamAuthError,
    UpstreamClient,
    UpstreamRefused,
    UpstreamUnavailable,
)
from reelforge.engines.upstream.run import RunContext, UpstreamRun
from reelforge.engines.upstream.seed_client import SeedTaskClient
from reelforge.media.conform import conform_video

log = logging.getLogger(__name__)


class UpstreamEngine:
    name = "upstream"

    def __init__(
        self,
        options: UpstreamOptions,
        *,
        max_submissions: int = 3,
        resolver: Resolver = system_resolver,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.options = options
        self.metrics = UpstreamMetrics()
        self._max_submissions = max_submissions
        self._addresses = AddressRule(options.allow_private, resolver)
        self._transport = transport
        self._context: RunContext | None = None

    # -- load ----------------------------------------------------------------------------------

    def load(self) -> None:
        if self._context is not None:
            return
        slots = [self._open(config) for config in self.options.upstreams]
        answering = [slot for slot in slots if self._first_check(slot)]
        if not answering:
            problems = "; ".join(slot.last_error for slot in slots)
            raise EngineLoadError(f"no upstream answers: {problems}")
        pool = UpstreamPool(slots, self.options.unhealthy_after, observe=self.metrics.observe_slot)
        for slot in slots:
            self.metrics.observe_slot(slot)
        self._context = RunContext(self.options, pool, self.metrics, self._max_submissions)

    def _open(self, config: UpstreamConfig) -> UpstreamSlot:
        what = f"upstream {config.name!r} base_url {config.base_url}"
        try:
            self._addresses.check_url(config.base_url, what)
            client = self._client(config)
        except (PermissionError, ConfigError) as exc:
            raise EngineLoadError(str(exc)) from None
        except OSError as exc:
            raise EngineLoadError(f"{exc}; fix base_url") from None
        return UpstreamSlot(client, config.max_in_flight)

    def _client(self, config: UpstreamConfig) -> UpstreamClient:
        if config.kind == "seed":
            return SeedTaskClient(config, self._check_video_url, self._transport)
        return OpenAIVideosClient(config, self._transport)

    def _first_check(self, slot: UpstreamSlot) -> bool:
        """True when the upstream answered; a configuration mistake fails the load."""
        config = next(c for c in self.options.upstreams if c.name == slot.name)
        models = sorted({config.model_id(model) for model in MODEL_NAMES if model in config.models})
        try:
            slot.client.check(models)
        except (UpstreamRefused, UpstreamAuthError) as exc:
            raise EngineLoadError(str(exc)) from None
        except UpstreamUnavailable as exc:
            slot.healthy, slot.last_error = False, str(exc)
            log.warning("%s; it gets no jobs until it answers", exc)
            return False
        return True

    def _check_video_url(self, url: str) -> None:
        try:
            self._addresses.check_url(url, "video URL from the gateway")
        except (PermissionError, OSError) as exc:
            raise UpstreamRefused(str(exc), "upstream_bad_output") from None

    # -- describe / generate -------------------------------------------------------------------

    def describe(self) -> dict[str, str]:
        facts = {"engine": self.name, "is_test_engine": "false"}
        for config in self.options.upstreams:
            state = ""
            if self._context is not None:
                slot = self._context.pool.slots[config.name]
                health = "healthy" if slot.healthy else f"out of use: {slot.last_error}"
                state = f", {slot.in_flight}/{slot.max_in_flight} in flight, {health}"
            facts[f"upstream.{config.name}"] = f"{config.kind} {config.base_url}{state}"
        return facts

    def generate(self, request: EngineRequest, control: JobControl) -> EngineOutput:
        if self._context is None:
            self.load()
        assert self._context is not None
        stateful = control if isinstance(control, StatefulControl) else _MemoryControl(control)
        run = UpstreamRun(self._context, request, stateful)
        workdir = request.workdir or Path(tempfile.mkdtemp(prefix="reelforge-upstream-"))
        path = workdir / "upstream.mp4"
        slot, remote_id = run.fetch_video(path)
        metadata = {
            "engine": self.name,
            "model": request.spec.model,
            "upstream": slot.name,
            "upstream_id": remote_id,
        }
        conformed = conform_video(path, request.spec, metadata=metadata, control=control)
        changes = conformed.changes or ["none: the upstream's video met the contract"]
        run.note(
            f"delivered {remote_id} from {slot.name}; changed: {'; '.join(changes)}",
            conform=conformed.changes,
        )
        return conformed.output


class _MemoryControl:
    """For callers that hand a plain ``JobControl``: state lives for this attempt only."""

    def __init__(self, inner: JobControl) -> None:
        self._inner = inner
        self._state: dict[str, Any] = {}
        self._done = 0.0

    def step(self, done: float, total: float, stage: str = "") -> None:
        self._done = done / total if total else 0.0
        self._inner.step(done, total, stage)

    def check(self) -> None:
        self._inner.step(self._done, 1.0)

    def log(self, message: str) -> None:
        self._inner.log(message)

    def saved_state(self) -> Mapping[str, Any]:
        return dict(self._state)

    def save_state(self, state: Mapping[str, Any]) -> None:
        self._state = dict(state)
