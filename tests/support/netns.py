"""Separate network hosts for fleet tests: one Linux network namespace per process, joined by a
bridge, or plain processes on loopback where namespaces are not available.

A namespaced process sees only its own ``lo`` and one veth into the test's bridge: it cannot
reach this machine's loopback, so it talks to PostgreSQL and the S3 server only at the
addresses the test gives it. Those services listen on loopback here; ``reach`` exposes one on
the bridge's gateway address through a TCP relay in the test process (as a router would put a
database host in front of a worker machine). Everything is created by the test and removed
afterwards: the bridge, the namespaces (their veth ends go with them) and the relays.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import shutil
import subprocess
import threading
from collections.abc import Sequence
from types import TracebackType


def netns_unavailable() -> str | None:
    """Why this machine cannot make network namespaces for a test, or None when it can."""
    if os.geteuid() != 0:
        return "network namespaces need root (CAP_NET_ADMIN); running the fleet as processes"
    if shutil.which("ip") is None:
        return "network namespaces need iproute2's `ip` command"
    probe = f"rf-probe-{secrets.token_hex(3)}"
    made = subprocess.run(["ip", "netns", "add", probe], capture_output=True, text=True)
    if made.returncode != 0:
        return f"`ip netns add` failed: {made.stderr.strip() or made.returncode}"
    subprocess.run(["ip", "netns", "del", probe], capture_output=True)
    return None


class Loopback:
    """Every role on this machine's loopback: no relays, commands run as they are."""

    def address(self, role: str) -> str:
        return "127.0.0.1"

    def reach(self, host: str, port: int) -> tuple[str, int]:
        return host, port

    def command(self, role: str, argv: Sequence[str]) -> list[str]:
        return list(argv)

    def close(self) -> None:
        pass


class Namespaces:
    """A bridge at ``10.a.b.1/24`` and one namespace per role at ``10.a.b.2``, ``.3``, ...

    Names carry a random tag, so tests running at once do not collide; the subnet is random
    among 10.200.0.0-10.249.255.0 for the same reason.
    """

    def __init__(self, roles: Sequence[str]) -> None:
        self.tag = secrets.token_hex(3)
        octets = secrets.randbelow(50 * 256)
        self.subnet = f"10.{200 + octets // 256}.{octets % 256}"
        self.gateway = f"{self.subnet}.1"
        self.bridge = f"rfb{self.tag}"
        self.roles = {role: index + 2 for index, role in enumerate(roles)}
        self.relays: list[Relay] = []
        self.made: list[list[str]] = []  # undo commands, run in reverse order
        try:
            self._build()
        except BaseException:
            self.close()
            raise

    def _build(self) -> None:
        _ip("link", "add", self.bridge, "type", "bridge")
        self.made.append(["link", "del", self.bridge])
        _ip("addr", "add", f"{self.gateway}/24", "dev", self.bridge)
        _ip("link", "set", self.bridge, "up")
        for role, host in self.roles.items():
            ns, veth = self.namespace(role), f"rfv{self.tag}{host}"
            _ip("netns", "add", ns)
            self.made.append(["netns", "del", ns])  # deletes its veth end, and so the pair
            _ip("link", "add", veth, "type", "veth", "peer", "name", "eth0", "netns", ns)
            _ip("link", "set", veth, "master", self.bridge)
            _ip("link", "set", veth, "up")
            _ip("-n", ns, "addr", "add", f"{self.address(role)}/24", "dev", "eth0")
            _ip("-n", ns, "link", "set", "eth0", "up")
            _ip("-n", ns, "link", "set", "lo", "up")
            _ip("-n", ns, "route", "add", "default", "via", self.gateway)

    def namespace(self, role: str) -> str:
        return f"rf-{self.tag}-{role}"

    def address(self, role: str) -> str:
        return f"{self.subnet}.{self.roles[role]}"

    def reach(self, host: str, port: int) -> tuple[str, int]:
        """The bridge address and port at which namespaced roles reach ``host:port``."""
        relay = Relay(self.gateway, (host, port))
        self.relays.append(relay)
        return self.gateway, relay.port

    def command(self, role: str, argv: Sequence[str]) -> list[str]:
        # `ip netns exec` execs the command itself (no fork): the child's pid is the process's.
        return ["ip", "netns", "exec", self.namespace(role), *argv]

    def close(self) -> None:
        for relay in self.relays:
            relay.close()
        for undo in reversed(self.made):
            subprocess.run(["ip", *undo], capture_output=True)
        self.made.clear()

    def __enter__(self) -> Namespaces:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


def _ip(*args: str) -> None:
    result = subprocess.run(["ip", *args], capture_output=True, text=True)
    if result.returncode != 0:
        raise RuntimeError(f"ip {' '.join(args)}: {result.stderr.strip()}")


class Relay:
    """A TCP relay on its own event loop thread: ``listen_host:<port>`` to ``target``."""

    def __init__(self, listen_host: str, target: tuple[str, int]) -> None:
        self.target = target
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        opening = asyncio.start_server(self._connection, listen_host, 0)
        self.server = asyncio.run_coroutine_threadsafe(opening, self.loop).result(10)
        self.port = int(self.server.sockets[0].getsockname()[1])

    async def _connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            upstream_reader, upstream_writer = await asyncio.open_connection(*self.target)
        except OSError:
            writer.close()
            return
        try:
            await asyncio.gather(_pipe(reader, upstream_writer), _pipe(upstream_reader, writer))
        finally:
            writer.close()
            upstream_writer.close()

    def close(self) -> None:
        async def shut() -> None:
            self.server.close()
            others = [task for task in asyncio.all_tasks() if task is not asyncio.current_task()]
            for task in others:
                task.cancel()
            await asyncio.gather(*others, return_exceptions=True)

        if self.loop.is_running():
            asyncio.run_coroutine_threadsafe(shut(), self.loop).result(10)
            self.loop.call_soon_threadsafe(self.loop.stop)
            self.thread.join(10)
        self.loop.close()


async def _pipe(source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
    """Copy until end of stream, then pass the half-close on (HTTP and PostgreSQL clients
    close their side while still reading)."""
    try:
        while data := await source.read(1 << 16):
            sink.write(data)
            await sink.drain()
        if sink.can_write_eof():
            sink.write_eof()
    except (ConnectionError, OSError):
        sink.close()
