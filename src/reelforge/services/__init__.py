"""Services: what every entry point (API surfaces, ``reelforge generate``, later the web page
and remote clients) uses on top of a Runtime.

- ``admission``: the one way a job enters (validation, policy, first frame, idempotency,
  retention deadline, enqueue);
- ``first_frame``: turning a data URL, http(s) URL or bytes into a vetted first frame;
- ``local_job``: one job end to end on this machine (``reelforge generate``);
- ``retention``: deleting expired jobs and their media;
- ``metrics``: Prometheus counters and gauges.

``build_admission`` wires an Admission from a Runtime, the same way for every caller.
"""

from __future__ import annotations

from reelforge.core.config import Settings
from reelforge.core.runtime import Runtime
from reelforge.net.fetch import ImageFetcher
from reelforge.notify.urls import WebhookUrlPolicy
from reelforge.policy import FacePolicy, PromptPolicy
from reelforge.services.admission import Admission, Admitted, VideoRequest
from reelforge.services.first_frame import FirstFrameReader
from reelforge.services.metrics import Metrics

__all__ = [
    "Admission",
    "Admitted",
    "VideoRequest",
    "build_admission",
    "build_prompt_policy",
]


def build_admission(runtime: Runtime, fetcher: ImageFetcher, metrics: Metrics) -> Admission:
    """The Admission every entry point uses: this runtime's database and blobs, the
    operator's policy settings, and ``fetcher`` for first frames given as URLs."""
    settings = runtime.settings
    return Admission(
        database=runtime.database,
        blobs=runtime.blobs,
        prompt_policy=build_prompt_policy(settings),
        face_policy=FacePolicy(),
        resolve_first_frame=FirstFrameReader(fetcher),
        retention_seconds=settings.retention_seconds,
        metrics=metrics,
        webhook_urls=WebhookUrlPolicy.from_settings(settings),
        default_limits=settings.default_limits,
    )


def build_prompt_policy(settings: Settings) -> PromptPolicy:
    """The prompt policy with the operator's extra lexicons and disabled categories."""
    return PromptPolicy.from_settings(
        extra_lexicon_dir=settings.policy_extra_lexicon_dir,
        disabled=settings.policy_disabled_categories,
        semantic=settings.policy_semantic,
    )
