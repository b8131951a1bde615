"""The shared connect step of the image fetcher and the webhook sender, on real loopback sockets."""

from __future__ import annotations

import http.client
import socket
import time
from collections.abc import Iterator

import pytest

from reelforge.net.connect import ConnectFailed, connect_first, describe_error, open_connection
from reelforge.net.netcheck import parse_image_url

# Linux routes all of 127.0.0.0/8 to loopback, but a socket bound to 127.0.0.1 does not answer
# on 127.0.0.2 or 127.0.0.3: those are refused at once, on the same port.
REFUSING = ("127.0.0.2", "127.0.0.3")


@pytest.fixture
def listener() -> Iterator[socket.socket]:
    """Listens on 127.0.0.1 and never accepts: the kernel completes connects, nobody answers."""
    with socket.create_server(("127.0.0.1", 0)) as sock:
        yield sock


def port_of(sock: socket.socket) -> int:
    return int(sock.getsockname()[1])


def test_connects_to_the_first_address_that_answers(listener: socket.socket) -> None:
    deadline = time.monotonic() + 5.0
    with connect_first([REFUSING[0], "127.0.0.1"], port_of(listener), deadline) as sock:
        assert sock.getpeername() == ("127.0.0.1", port_of(listener))
        assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) != 0


def test_names_every_address_that_failed(listener: socket.socket) -> None:
    with pytest.raises(ConnectFailed) as caught:
        connect_first(REFUSING, port_of(listener), time.monotonic() + 5.0)
    assert caught.value.reasons == "127.0.0.2: Connection refused; 127.0.0.3: Connection refused"
    assert str(caught.value) == f"could not connect ({caught.value.reasons})"


def test_stops_trying_addresses_once_the_deadline_has_passed(listener: socket.socket) -> None:
    with pytest.raises(ConnectFailed) as caught:  # 127.0.0.1 would answer, but time is up
        connect_first([REFUSING[0], "127.0.0.1"], port_of(listener), time.monotonic() - 1.0)
    assert caught.value.reasons == "127.0.0.2: Connection refused"


@pytest.mark.timeout(30)
def test_the_watchdog_wakes_a_read_blocked_past_the_deadline(listener: socket.socket) -> None:
    url = parse_image_url(f"http://images.example:{port_of(listener)}/a.png")
    with open_connection(url, ["127.0.0.1"], time.monotonic() + 0.3, None) as link:
        link.sock.settimeout(None)  # only the watchdog can end this read
        link.connection.request("GET", url.target)
        with pytest.raises(http.client.RemoteDisconnected):
            link.connection.getresponse()
    assert link.watchdog.fired


def test_describe_error_uses_the_system_words_and_shortens_quoted_bytes() -> None:
    assert describe_error(ConnectionRefusedError(111, "Connection refused")) == (
        "Connection refused"
    )
    assert describe_error(TimeoutError("timed out")) == "timed out"
    assert describe_error(http.client.ResponseNotReady()) == "ResponseNotReady"
    long = describe_error(http.client.LineTooLong("x" * 500))
    assert len(long) == 120 and long.endswith("...")
