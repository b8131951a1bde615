"""create_app: the FastAPI app for both surfaces over one job store.

The lifespan opens the Runtime (unless one is passed in), builds the routes' context, starts
the retention sweeper and, when ``settings.embedded_workers``, the workers (a supervised child
process, or in this process with ``embedded_workers_mode = "thread"``); shutdown
stops them in reverse order. Nothing is built at import time.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any

from anyio import to_thread
from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from reelforge import __version__
from reelforge.api import (
    admin_routes,
    docs_routes,
    event_routes,
    health,
    openai_routes,
    prompt_routes,
    seed_routes,
    studio_routes,
    usage_routes,
    webhook_routes,
)
from reelforge.api.bootstrap import ensure_first_key
from reelforge.api.context import ApiContext
from reelforge.api.cors import install_cors
from reelforge.api.errors import install_error_handlers
from reelforge.api.limits import MAX_BODY_BYTES, ContentLengthLimit
from reelforge.api.observability import RequestContext
from reelforge.api.openapi_bodies import add_body_schemas, validation_is_400
from reelforge.api.tracing import install_tracing
from reelforge.core.config import Settings
from reelforge.core.logs import install_record_context
from reelforge.core.runtime import Runtime
from reelforge.net.fetch import ImageFetcher
from reelforge.notify.dispatcher import WebhookDispatcher
from reelforge.services.retention import RetentionSweeper
from reelforge.services.watch import JobWatchHub
from reelforge.worker import Worker, WorkerSupervisor

log = logging.getLogger(__name__)

DESCRIPTION = """Self-hosted video generation behind two APIs over one job store:
the Sora task API of the seed gateway (`/vendors/openai/v1/sora/generation`) and OpenAI's
`/v1/videos`. Every endpoint but `/healthz` and `/readyz` needs `Authorization: Bearer rf_...`
(`reelforge keys create`). Send `Idempotency-Key` on creates to make retries safe."""


def create_app(
    settings: Settings,
    runtime: Runtime | None = None,
    *,
    image_fetcher: ImageFetcher | None = None,
    bootstrap_key: bool = False,
) -> FastAPI:
    """The ASGI app. ``runtime``: the process's open Runtime (the caller closes it); without
    one the lifespan opens and closes its own (an ASGI server importing the app);
    ``image_fetcher``: replace the URL fetcher (tests allow a loopback image server);
    ``bootstrap_key``: on a database without keys, create one (``reelforge serve``)."""

    app = FastAPI(
        title="ReelForge",
        version=__version__,
        description=DESCRIPTION,
        openapi_tags=docs_routes.TAGS,
        docs_url=None,  # docs_routes serves both pages with local assets (offline)
        redoc_url=None,
        lifespan=_lifespan(settings, runtime, image_fetcher, bootstrap_key),
    )
    install_error_handlers(app)
    app.add_middleware(ContentLengthLimit, max_bytes=MAX_BODY_BYTES)
    install_cors(app, settings.cors_origins)  # outermost: errors carry CORS headers too
    # Outside CORS: every response, preflights included, carries X-Request-Id and is timed.
    app.add_middleware(RequestContext)
    # Event streams first: their paths extend the surfaces' /{id} paths.
    app.include_router(event_routes.openai_router)
    app.include_router(event_routes.seed_router)
    app.include_router(seed_routes.router)
    app.include_router(openai_routes.router)
    app.include_router(webhook_routes.router)
    app.include_router(usage_routes.router)
    app.include_router(health.router)
    app.include_router(admin_routes.router)
    app.include_router(prompt_routes.router)
    docs_routes.install_docs(app)
    studio_routes.install_studio(app)  # the web studio at /
    _precise_openapi(app)
    install_tracing(app, settings)
    install_record_context()  # log records carry the request id (and a job's id)
    return app


def _lifespan(
    settings: Settings,
    runtime: Runtime | None,
    image_fetcher: ImageFetcher | None,
    bootstrap_key: bool,
) -> Callable[[FastAPI], AbstractAsyncContextManager[None]]:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # The pool that sync routes, run_in_threadpool and error logging share (per loop).
        to_thread.current_default_thread_limiter().total_tokens = settings.api_threads
        live = runtime or Runtime.open(settings)
        context = ApiContext.build(live, image_fetcher)
        # Models load now (the semantic policy layer, look-alike tables), not on a request.
        await to_thread.run_sync(context.admission.prompt_policy.warm)
        if bootstrap_key:
            ensure_first_key(settings, live.keys)
        sweeper = RetentionSweeper(live, settings.retention_sweep_seconds)
        sweeper.start()
        hub = JobWatchHub(live, context.estimator.estimate, settings.event_stream_poll_seconds)
        hub.start()
        context.watch_hub = hub
        dispatcher = None
        if settings.webhook_dispatch:
            dispatcher = WebhookDispatcher(live, on_outcome=context.metrics.webhook_attempt)
            dispatcher.start()
        if settings.embedded_workers:
            workers = context.worker = _embedded_workers(live)
            context.metrics.track_reclaimed(lambda: workers.tmp_reclaimed_bytes)
            context.metrics.include(workers.metrics.registry)
            workers.start()
        app.state.context = context
        try:
            yield
        finally:
            if context.worker is not None:
                context.worker.stop()
            if dispatcher is not None:
                dispatcher.stop()
            sweeper.stop()
            hub.stop()
            if image_fetcher is None:
                context.fetcher.close()
            if runtime is None:
                live.close()

    return lifespan


def _embedded_workers(runtime: Runtime) -> Worker | WorkerSupervisor:
    """Mode "process": a child process the server supervises, so this interpreter only serves
    HTTP and the engine (torch included) is imported there only; "thread": in this process."""
    if runtime.settings.embedded_workers_mode == "process":
        return WorkerSupervisor(runtime.settings, runtime.signals)
    return Worker(runtime)


def _precise_openapi(app: FastAPI) -> None:
    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = get_openapi(
                title=app.title,
                version=app.version,
                description=app.description,
                routes=app.routes,
                tags=app.openapi_tags,
            )
            app.openapi_schema = validation_is_400(add_body_schemas(schema))
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
