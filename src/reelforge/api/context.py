"""ApiContext: the live objects the routes use, built once per app in its lifespan."""

from __future__ import annotations

from dataclasses import dataclass, field

from reelforge.api.auth import KeyVerifier
from reelforge.api.signing import UrlSigner
from reelforge.core.config import Settings
from reelforge.core.runtime import Runtime
from reelforge.net.fetch import ImageFetcher
from reelforge.services import build_admission
from reelforge.services.admission import Admission
from reelforge.services.estimates import QueueEstimator
from reelforge.services.metrics import Metrics
from reelforge.services.watch import JobWatchHub
from reelforge.worker import Worker, WorkerSupervisor


@dataclass
class ApiContext:
    settings: Settings
    runtime: Runtime
    verifier: KeyVerifier
    admission: Admission
    metrics: Metrics
    signer: UrlSigner
    fetcher: ImageFetcher
    estimator: QueueEstimator
    worker: Worker | WorkerSupervisor | None = field(default=None)
    """The embedded workers (in-process, or the supervisor of their child process)."""
    watch_hub: JobWatchHub | None = field(default=None)
    """Feeds the event streams; started and stopped by the app's lifespan."""

    @classmethod
    def build(cls, runtime: Runtime, fetcher: ImageFetcher | None = None) -> ApiContext:
        settings = runtime.settings
        fetcher = fetcher or ImageFetcher()
        estimator = QueueEstimator(runtime, clock=runtime.store.clock)
        metrics = Metrics(runtime.store, estimator, runtime.database.usage)
        return cls(
            settings=settings,
            runtime=runtime,
            verifier=KeyVerifier(runtime.keys),
            admission=build_admission(runtime, fetcher, metrics),
            metrics=metrics,
            signer=UrlSigner.from_settings(settings),
            fetcher=fetcher,
            estimator=estimator,
        )
