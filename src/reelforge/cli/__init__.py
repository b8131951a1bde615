"""The ``reelforge`` command line.

- ``app``: the typer app, ``--version`` and ``main`` (one-line usage errors, exit code 2);
- ``common``: the error console, logging set-up, settings and the process's Runtime;
- ``generate``: one video on this machine, through the same admission as the API;
- ``serve``: ``serve`` (HTTP APIs + in-process workers) and ``worker``;
- ``keys``, ``models``: API keys and the diffusers engine's checkpoints;
- ``jobs``, ``remote``, ``remote_generate``, ``job_views``: the client commands, against a
  running server (``jobs ...``, ``generate --server``), over ``reelforge.client``.
"""

from reelforge.cli.app import app, main

__all__ = ["app", "main"]
