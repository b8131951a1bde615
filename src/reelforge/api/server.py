"""``reelforge serve``: uvicorn on the app, over the process's Runtime, with the first API key
bootstrapped."""

from __future__ import annotations

import uvicorn

from reelforge.api.app import create_app
from reelforge.core.runtime import Runtime


def serve(runtime: Runtime, host: str, port: int) -> None:
    app = create_app(runtime.settings, runtime, bootstrap_key=True)
    # One event loop and its thread pool per process; scale out with more processes or replicas
    # (the database is the queue, so any replica answers for any job).
    uvicorn.run(app, host=host, port=port, log_config=None, proxy_headers=True)
