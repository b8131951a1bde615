"""ApiContext: the live objects the routes use, built once per app in its lifespan."""

from __future__ import annotations

from dataclasses import dataclass, field

from reelforge.admission import Admission, FirstFrameResolver
from reelforge.admission_images import FirstFrame, first_frame_from_bytes, resolve_first_frame
from reelforge.api.auth import KeyVerifier
from reelforge.api.signing import UrlSigner
from reelforge.config import Settings
from reelforge.media.fetch import ImageFetcher
from reelforge.metrics import Metrics
from reelforge.policy import FacePolicy, PromptPolicy
from reelforge.runtime import Runtime
from reelforge.store.idempotency import IdempotencyStore
from reelforge.store.keys import KeyStore
from reelforge.worker import Worker


@dataclass
class ApiContext:
    settings: Settings
    runtime: Runtime
    keys: KeyStore
    verifier: KeyVerifier
    admission: Admission
    signer: UrlSigner
    fetcher: ImageFetcher
    worker: Worker | None = field(default=None)

    @classmethod
    def build(
        cls, settings: Settings, runtime: Runtime, fetcher: ImageFetcher | None = None
    ) -> ApiContext:
        fetcher = fetcher or ImageFetcher()
        keys = KeyStore(runtime.db)
        metrics = Metrics(runtime.store)
        admission = Admission(
            runtime=runtime,
            idempotency=IdempotencyStore(runtime.db, settings.idempotency_ttl_seconds),
            prompt_policy=build_prompt_policy(settings),
            face_policy=FacePolicy(),
            resolve_first_frame=_resolver(fetcher),
            retention_seconds=settings.retention_seconds,
            metrics=metrics,
        )
        return cls(
            settings=settings,
            runtime=runtime,
            keys=keys,
            verifier=KeyVerifier(keys),
            admission=admission,
            signer=UrlSigner.from_settings(settings),
            fetcher=fetcher,
        )


def _resolver(fetcher: ImageFetcher) -> FirstFrameResolver:
    def resolve(source: str | bytes, width: int, height: int) -> FirstFrame:
        if isinstance(source, bytes):
            return first_frame_from_bytes(source, width, height, max_bytes=fetcher.max_bytes)
        return resolve_first_frame(source, width, height, fetcher=fetcher)

    return resolve


def build_prompt_policy(settings: Settings) -> PromptPolicy:
    """The prompt policy with the operator's extra lexicons and disabled categories."""
    return PromptPolicy.from_settings(
        extra_lexicon_dir=settings.policy_extra_lexicon_dir,
        disabled=settings.policy_disabled_categories,
    )
