"""A real webhook receiver on loopback: records every request it gets, and answers as the test
says (scripted answers with headers, fail the first N, hang until released, or 200)."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType


@dataclass(frozen=True)
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    status: int  # what the receiver answered
    at: float  # time.time() when the body had arrived


class WebhookReceiver:
    """``fail_first``: answer 503 to that many requests first; ``down``: answer 503 while set.
    ``hold``: requests wait (never answered) until ``release`` or the server stops.
    ``answers``: (status, headers) answered to the next requests, in order, before all else."""

    def __init__(self, fail_first: int = 0) -> None:
        self.fail_first = fail_first
        self.answers: list[tuple[int, dict[str, str]]] = []
        self.down = False
        """While True every request is answered 503."""
        self.received: list[Received] = []
        self._lock = threading.Lock()
        self._holding = threading.Event()
        self._released = threading.Event()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}/hooks"

    def hold(self) -> None:
        self._released.clear()
        self._holding.set()

    def release(self) -> None:
        self._holding.clear()
        self._released.set()

    def accepted(self) -> list[Received]:
        with self._lock:
            return [r for r in self.received if 200 <= r.status < 300]

    def all(self) -> list[Received]:
        with self._lock:
            return list(self.received)

    def __enter__(self) -> WebhookReceiver:
        self._thread.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.release()
        self._server.shutdown()
        self._server.server_close()

    def _answer(
        self, path: str, headers: dict[str, str], body: bytes
    ) -> tuple[int, dict[str, str]]:
        if self._holding.is_set():
            with self._lock:
                self.received.append(Received(path, headers, body, 0, time.time()))
            self._released.wait(60)
            return 0, {}  # never answered: the sender has gone
        with self._lock:
            if self.answers:
                status, extra = self.answers.pop(0)
            else:
                failed = sum(1 for r in self.received if r.status == 503)
                status, extra = (503 if self.down or failed < self.fail_first else 200), {}
            self.received.append(Received(path, headers, body, status, time.time()))
        return status, extra

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                headers = {name.lower(): value for name, value in self.headers.items()}
                status, extra = receiver._answer(self.path, headers, body)
                if status == 0:
                    self.close_connection = True
                    return
                self.send_response(status)
                for name, value in extra.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: object) -> None:
                pass

        return Handler
