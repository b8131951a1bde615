"""The ``upstream`` engine: forwards jobs to OpenAI-compatible video servers (or seed gateways).

options.py         UpstreamOptions / UpstreamConfig, parsed from Settings.engine_options
protocol.py        RemoteJob, Submission, and the errors the engine acts on
openai_client.py   the /v1/videos protocol
seed_client.py     the seed gateway's task protocol
addresses.py       which addresses an upstream (or a video URL) may have
pool.py            least-loaded healthy upstream selection, in-flight caps, health
run.py             one job: submit or resume, poll, download, cancel
engine.py          UpstreamEngine: load checks, generate, conform the result
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from reelforge.engines.upstream.engine import UpstreamEngine
from reelforge.engines.upstream.options import parse_options

if TYPE_CHECKING:
    from reelforge.core.config import Settings

__all__ = ["UpstreamEngine", "create_engine"]


def create_engine(settings: Settings) -> UpstreamEngine:
    """Build (not load) the engine; invalid ``engine_options`` raise ``ConfigError`` here."""
    options = parse_options(settings.engine_options)
    return UpstreamEngine(options, max_submissions=settings.max_attempts)
