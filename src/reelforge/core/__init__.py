"""The process's foundations: settings (``config``), the ``Runtime`` opened from them once per
process, and small threading helpers (``periodic``). Everything else is built on a Runtime."""
