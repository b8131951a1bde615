"""Exceptions ReelForge raises on purpose.

ReelForgeError
├── ConfigError            bad configuration found at start; one line says what to fix
├── SpecError              a generation request is invalid (client's mistake)
├── JobNotFound            no job with that id (for that owner)
├── JobFinished            the job already completed or failed: it cannot be cancelled
├── KeyNotFound            no API key with that id
├── WebhookNotFound        no webhook endpoint or delivery with that id (for that owner)
├── PolicyRefused          the content policy refused a prompt or image (``category`` says why)
├── IdempotencyConflict    an Idempotency-Key is in use (409) or was used with another body (422)
├── QuotaError             (in ``domain.quotas``) a key's limits refused a create
│   ├── QuotaExceeded      a rate limit, queue cap or budget (429, with when to retry)
│   └── ModelNotAllowed    the key may not use that model (403)
├── EngineError            the engine could not produce a video
│   ├── EngineLoadError    the engine's model could not be loaded
│   └── UnknownEngine      no engine registered under that name (also a ConfigError)
└── JobInterrupted         raised inside an engine to stop work between steps
    ├── JobCancelled       the job's owner asked to cancel
    └── LeaseLost          another worker owns the job now, or this worker is shutting down
"""

from __future__ import annotations


class ReelForgeError(Exception):
    """Base class of ReelForge's own exceptions."""


class ConfigError(ReelForgeError):
    """Configuration that cannot work; the message is one line that says how to fix it."""


class SpecError(ReelForgeError, ValueError):
    """An invalid generation request. ``field`` names the offending input when known."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class JobNotFound(ReelForgeError, LookupError):
    """No job with that id is visible to the caller."""


class JobFinished(ReelForgeError):
    """The job reached a final state other than cancelled; ``status`` says which."""

    def __init__(self, message: str, status: str) -> None:
        super().__init__(message)
        self.status = status


class KeyNotFound(ReelForgeError, LookupError):
    """No API key with that id."""


class WebhookNotFound(ReelForgeError, LookupError):
    """No webhook endpoint or delivery with that id is visible to the caller."""


class PolicyRefused(ReelForgeError):
    """The content policy refused the request; ``category`` names what it matched, ``rule``
    which rule (for logs and metrics, never shown to the client next to the input)."""

    def __init__(self, category: str, rule: str, message: str) -> None:
        super().__init__(message)
        self.category = category
        self.rule = rule

    @property
    def public_message(self) -> str:
        """What every entry point tells the client: the category and the policy's reason."""
        return (
            f"Your request was blocked by our moderation system (category: {self.category}). {self}"
        )


class IdempotencyConflict(ReelForgeError):
    """The Idempotency-Key is in use. ``reused``: with another body (422); else in flight (409)."""

    def __init__(self, message: str, *, reused: bool) -> None:
        super().__init__(message)
        self.reused = reused


class EngineError(ReelForgeError):
    """The engine failed. ``code`` is stored on the job for clients to read."""

    code = "engine_error"


class EngineLoadError(EngineError):
    code = "engine_load_error"


class UnknownEngine(EngineError, ConfigError):
    code = "unknown_engine"


class JobInterrupted(ReelForgeError):
    """Base for the two reasons an engine is stopped between steps."""


class JobCancelled(JobInterrupted):
    """The job's owner cancelled it."""


class LeaseLost(JobInterrupted):
    """This worker no longer owns the job: its lease expired or it is releasing it."""
