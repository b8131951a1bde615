"""Which upstream takes the next job: the least loaded healthy one, within its in-flight cap.

Every request's outcome feeds the upstream's health: ``unhealthy_after`` failures in a row take
it out of use for a cool-down (5 s, doubling up to 2 min); after that it is probed (a cheap
``check``) before it gets work again. Load is in-flight jobs over the cap, ties broken by the
recent latency (an exponential moving average). The counts are this worker process's own: each
worker process keeps within each upstream's ``max_in_flight``, so set the caps with the number of
worker processes in mind.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from reelforge.engines.upstream.protocol import UpstreamClient

log = logging.getLogger(__name__)
COOLDOWN_START_SECONDS = 5.0
COOLDOWN_MAX_SECONDS = 120.0
LATENCY_WEIGHT = 0.3
"""How much the newest request counts in the latency average."""


@dataclass
class UpstreamSlot:
    """One upstream's client, cap and live health."""

    client: UpstreamClient
    max_in_flight: int
    in_flight: int = 0
    failures: int = 0
    healthy: bool = True
    retry_at: float = 0.0
    cooldown: float = COOLDOWN_START_SECONDS
    latency: float = 0.0
    last_error: str = ""

    @property
    def name(self) -> str:
        return self.client.name

    @property
    def load(self) -> float:
        return self.in_flight / self.max_in_flight


Observer = Callable[[UpstreamSlot], None]


class UpstreamPool:
    def __init__(
        self,
        slots: list[UpstreamSlot],
        unhealthy_after: int,
        *,
        clock: Callable[[], float] = time.monotonic,
        observe: Observer | None = None,
    ) -> None:
        self.slots = {slot.name: slot for slot in slots}
        self._unhealthy_after = unhealthy_after
        self._clock = clock
        self._observe = observe or (lambda slot: None)
        self._lock = threading.Condition()

    def get(self, name: str) -> UpstreamSlot | None:
        return self.slots.get(name)

    def try_acquire(self) -> UpstreamSlot | None:
        """Reserve room on the best upstream now, or None when every one is full or down."""
        self._probe_due()
        with self._lock:
            ready = [
                slot
                for slot in self.slots.values()
                if slot.healthy and slot.in_flight < slot.max_in_flight
            ]
            if not ready:
                return None
            best = min(ready, key=lambda slot: (slot.load, slot.latency))
            best.in_flight += 1
        self._observe(best)
        return best

    def hold(self, slot: UpstreamSlot) -> None:
        """Count a job already running there (resumed after a restart), even past the cap."""
        with self._lock:
            slot.in_flight += 1
        self._observe(slot)

    def release(self, slot: UpstreamSlot) -> None:
        with self._lock:
            slot.in_flight = max(slot.in_flight - 1, 0)
            self._lock.notify_all()
        self._observe(slot)

    def wait(self, seconds: float) -> None:
        """Sleep until some room may have opened (a release) or ``seconds`` passed."""
        with self._lock:
            self._lock.wait(seconds)

    def succeeded(self, slot: UpstreamSlot, latency: float) -> None:
        with self._lock:
            revived = not slot.healthy
            slot.failures, slot.healthy, slot.cooldown = 0, True, COOLDOWN_START_SECONDS
            slot.latency = latency if slot.latency == 0 else (
                LATENCY_WEIGHT * latency + (1 - LATENCY_WEIGHT) * slot.latency
            )  # fmt: skip
            self._lock.notify_all()
        if revived:
            log.info("upstream %s is healthy again", slot.name)
        self._observe(slot)

    def failed(self, slot: UpstreamSlot, error: str) -> None:
        with self._lock:
            slot.failures += 1
            slot.last_error = error
            newly_down = slot.healthy and slot.failures >= self._unhealthy_after
            if slot.failures >= self._unhealthy_after:
                if not slot.healthy:  # a failed probe: wait longer before the next
                    slot.cooldown = min(slot.cooldown * 2, COOLDOWN_MAX_SECONDS)
                slot.healthy = False
                slot.retry_at = self._clock() + slot.cooldown
        if newly_down:
            log.warning(
                "upstream %s is out of use after %d failures in a row (%s); probing it again "
                "in %.0f s",
                slot.name,
                slot.failures,
                error,
                slot.cooldown,
            )
        self._observe(slot)

    def _probe_due(self) -> None:
        now = self._clock()
        for slot in self.slots.values():
            if slot.healthy or slot.retry_at > now:
                continue
            with self._lock:
                if slot.healthy or slot.retry_at > now:
                    continue
                slot.retry_at = now + slot.cooldown  # one prober at a time
            self._probe(slot)

    def _probe(self, slot: UpstreamSlot) -> None:
        started = self._clock()
        try:
            slot.client.check([])
        except Exception as exc:  # any failure keeps it out of use; the reason is logged
            self.failed(slot, str(exc))
        else:
            self.succeeded(slot, self._clock() - started)
