"""ImageFetcher against real HTTP(S) servers on loopback: SSRF rules, redirects, limits, time."""

from __future__ import annotations

import shutil
import ssl
import subprocess
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from reelforge.domain.errors import SpecError
from reelforge.net.fetch import ImageFetcher
from reelforge.net.netcheck import parse_image_url
from tests.support.image_cases import ImageServer, Route, make_image, repeated

PNG = make_image("PNG", 16, 9)


@pytest.fixture
def server() -> Iterator[ImageServer]:
    with ImageServer() as running:
        yield running


@pytest.fixture
def fetcher(server: ImageServer) -> Iterator[ImageFetcher]:
    with ImageFetcher(allow_hosts=frozenset({server.authority})) as built:
        yield built


def refused(fetcher: ImageFetcher, url: str) -> str:
    with pytest.raises(SpecError) as caught:
        fetcher.fetch(url)
    assert caught.value.field == "image"
    return str(caught.value)


# -- the happy path ----------------------------------------------------------------------------


def test_fetches_an_allowlisted_loopback_image(server: ImageServer, fetcher: ImageFetcher) -> None:
    assert fetcher.fetch(server.image("/a.png", PNG)) == PNG
    assert server.seen[0].headers["Host"] == server.authority
    assert "identity" in server.seen[0].headers.get("Accept-Encoding", "identity")


def test_connects_to_the_checked_ip_but_keeps_the_host_name(server: ImageServer) -> None:
    server.image("/a.png", PNG)
    calls: list[tuple[str, int]] = []

    def resolver(host: str, port: int) -> list[str]:
        calls.append((host, port))
        return ["127.0.0.1"]

    with ImageFetcher(allow_hosts=frozenset({server.authority}), resolver=resolver) as fetcher:
        assert fetcher.fetch(server.url("/a.png", host="images.example")) == PNG
    assert calls == [("images.example", server.port)]
    assert server.seen[0].headers["Host"] == f"images.example:{server.port}"


def test_dns_rebinding_cannot_move_the_connection(server: ImageServer) -> None:
    """DNS answers the checked address first and another one afterwards (rebinding). We resolve
    once and connect to the checked address, so the second server never sees a request.
    127.0.0.1 stands for "public" (allowlisted); 127.0.0.2 on the same port for "private"."""
    try:
        private = ImageServer(host="127.0.0.2", port=server.port)
    except OSError:
        pytest.skip("needs 127.0.0.2 on the loopback interface (Linux has it)")
    server.image("/a.png", PNG)
    answers = iter([["127.0.0.1"], ["127.0.0.2"], ["127.0.0.2"]])
    calls: list[str] = []

    def rebinding(host: str, _port: int) -> list[str]:
        calls.append(host)
        return next(answers)

    with (
        private,
        ImageFetcher(allow_hosts=frozenset({server.authority}), resolver=rebinding) as fetcher,
    ):
        private.image("/a.png", b"secret")
        assert fetcher.fetch(server.url("/a.png", host="rebind.example")) == PNG
    assert calls == ["rebind.example"]
    assert private.seen == []
    assert server.seen[0].headers["Host"] == f"rebind.example:{server.port}"


def test_every_resolved_address_is_checked() -> None:
    mixed = ImageFetcher(resolver=lambda _h, _p: ["93.184.215.14", "10.0.0.5"])
    with mixed:
        message = refused(mixed, "http://mixed.example/a.png")
    assert "'mixed.example' is not on the public internet: 10.0.0.5 is private" in message


def test_environment_proxies_are_ignored(
    server: ImageServer, fetcher: ImageFetcher, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "ALL_PROXY"):
        monkeypatch.setenv(name, "http://10.9.9.9:3128")
    assert fetcher.fetch(server.image("/a.png", PNG)) == PNG


def test_one_fetcher_serves_many_threads(server: ImageServer, fetcher: ImageFetcher) -> None:
    images = {server.image(f"/img{i}.png", make_image("PNG", 8 + i, 8)): i for i in range(12)}
    expected = [make_image("PNG", 8 + i, 8) for i in images.values()]
    with ThreadPoolExecutor(6) as pool:
        assert list(pool.map(fetcher.fetch, images)) == expected


# -- refused before connecting -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("http://127.0.0.1/a.png", "127.0.0.1 is loopback (127.0.0.0/8)"),
        ("http://169.254.169.254/latest/meta-data/", "169.254.169.254 is link-local"),
        ("http://[::1]/a.png", "::1 is loopback (::1/128)"),
        ("http://[64:ff9b::a9fe:a9fe]/", "embeds 169.254.169.254, which is link-local"),
        ("http://[::ffff:127.0.0.1]/", "embeds 127.0.0.1, which is loopback"),
        ("https://[2002:a9fe:a9fe::1]/", "6to4 (2002::/16)"),
        ("http://0.0.0.0/", "'this network'"),
        ("http://localhost/a.png", "is loopback"),  # real resolver (hosts file)
        ("file:///etc/passwd", "image URL uses file:"),
        ("ftp://example.com/a.png", "image URL uses ftp:"),
        ("gopher://example.com/", "image URL uses gopher:"),
        ("//example.com/a.png", "without a scheme"),
        ("http://user:pw@example.com/a.png", "must not contain a user name or password"),
        ("http://user@example.com/a.png", "must not contain a user name or password"),
        ("http://evil.example\\@127.0.0.1/", "backslashes"),
        ("http://example.com:8080/a.png", "port 8080"),
        ("http://example.com:99999/a.png", "invalid port"),
        ("http://example.com:0/a.png", "port 0"),
        ("http:///a.png", "has no host name"),
        ("http://exa mple.com/a.png", "spaces"),
        ("http://bücher.example/a.png", "punycode"),
        ("http://[::1/a.png", "cannot be parsed"),
        ("http://[example.com]/a.png", "cannot be parsed"),
    ],
)
def test_refused_urls(fetcher: ImageFetcher, url: str, expected: str) -> None:
    assert expected in refused(fetcher, url)


def test_loopback_needs_the_exact_allowlisted_port(server: ImageServer) -> None:
    with ImageServer() as other, ImageFetcher(allow_hosts=frozenset({other.authority})) as fetcher:
        assert "port" in refused(fetcher, server.image("/a.png", PNG))
    assert server.seen == []


@pytest.mark.parametrize(
    ("entry", "expected"),
    [
        ("localhost:80", "must be IP:PORT"),
        ("127.0.0.1", "must be IP:PORT"),
        ("example.com:443", "must be IP:PORT"),
        ("127.0.0.1:http", "must be IP:PORT"),
        ("10.0.0.5:80", "not a loopback"),
        ("169.254.169.254:80", "not a loopback"),
        ("127.0.0.1:0", "not a loopback IP:PORT"),
    ],
)
def test_allowlist_entries_must_be_loopback_ip_and_port(entry: str, expected: str) -> None:
    with pytest.raises(ValueError, match=expected):
        ImageFetcher(allow_hosts=frozenset({entry}))
    with ImageFetcher(allow_hosts=frozenset({"[::1]:8123", "127.0.0.2:80"})) as accepted:
        assert accepted.max_bytes > 0


@given(st.text(max_size=80) | st.from_regex(r"\Ahttps?://[^/]{0,30}(/.{0,20})?\Z"))
def test_any_text_is_parsed_or_refused_with_a_spec_error(text: str) -> None:
    try:
        parsed = parse_image_url(text)
    except SpecError as exc:
        assert exc.field == "image"
    else:
        assert parsed.scheme in ("http", "https") and parsed.host and 0 <= parsed.port <= 65535


def test_url_syntax_parsing() -> None:
    parsed = parse_image_url("HTTPS://Images.Example/a%20b.png?x=1#frag")
    assert (parsed.scheme, parsed.host, parsed.port, parsed.target) == (
        "https",
        "images.example",
        443,
        "/a%20b.png?x=1",
    )
    assert parse_image_url("http://[2606:4700::1111]").host == "2606:4700::1111"


# -- redirects ---------------------------------------------------------------------------------


def test_follows_up_to_three_redirects_relative_and_absolute(
    server: ImageServer, fetcher: ImageFetcher
) -> None:
    server.image("/final.png", PNG)
    server.redirect("/r3", "/final.png", status=308)
    server.redirect("/r2", server.url("/r3"), status=307)
    server.redirect("/r1", "r2", status=301)
    assert fetcher.fetch(server.url("/r1")) == PNG
    assert [r.path for r in server.seen] == ["/r1", "/r2", "/r3", "/final.png"]


def test_a_fourth_redirect_is_refused(server: ImageServer, fetcher: ImageFetcher) -> None:
    server.image("/final.png", PNG)
    for hop in range(4):
        server.redirect(f"/r{hop}", f"/r{hop + 1}" if hop < 3 else "/final.png")
    assert "redirected more than 3 times" in refused(fetcher, server.url("/r0"))
    assert "/final.png" not in [r.path for r in server.seen]


@pytest.mark.parametrize(
    ("location", "expected"),
    [
        ("http://10.1.2.3/a.png", "10.1.2.3 is private (10.0.0.0/8)"),
        ("http://169.254.169.254/latest/meta-data/", "169.254.169.254 is link-local"),
        ("http://127.0.0.1/a.png", "127.0.0.1 is loopback"),
        ("http://[fd00::1]/a.png", "unique-local"),
        ("file:///etc/passwd", "image URL uses file:"),
    ],
)
def test_every_redirect_hop_is_checked(
    server: ImageServer, fetcher: ImageFetcher, location: str, expected: str
) -> None:
    assert expected in refused(fetcher, server.redirect("/go", location))


def test_redirect_without_location(server: ImageServer, fetcher: ImageFetcher) -> None:
    message = refused(fetcher, server.redirect("/go", None, status=302))
    assert "answered HTTP 302 without a Location header" in message


@pytest.mark.parametrize(
    ("status", "reason"),
    [
        (404, "Not Found"),
        (500, "Internal Server Error"),
        (204, "No Content"),
        (304, "Not Modified"),
    ],
)
def test_non_200_names_the_status(
    server: ImageServer, fetcher: ImageFetcher, status: int, reason: str
) -> None:
    server.routes["/s"] = Route(status=status)
    assert f"answered HTTP {status} {reason}" in refused(fetcher, server.url("/s"))


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (b"SSH-2.0-OpenSSH_9.6\r\n" + b"x" * 5000, "did not answer with HTTP (it sent 'SSH-2.0"),
        (b"", "closed connection without response"),
        (b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nshort", "ended after 5 of 100 bytes"),
        (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", "chunked encoding"),
    ],
    ids=["not_http", "no_answer", "truncated_body", "bad_chunk"],
)
def test_broken_servers_are_explained_briefly(
    server: ImageServer, fetcher: ImageFetcher, raw: bytes, expected: str
) -> None:
    server.routes["/raw"] = Route(raw=raw)
    message = refused(fetcher, server.url("/raw"))
    assert expected in message and len(message) < 300


# -- size and time limits ----------------------------------------------------------------------

MIB = 1024 * 1024
BLOCK = b"\x89PNG\r\n\x1a\n" + bytes(64 * 1024 - 8)


def test_content_length_over_the_cap_is_refused_before_reading(
    server: ImageServer, fetcher: ImageFetcher
) -> None:
    # The server announces 11 MiB but then stalls: only the header check can end this quickly.
    server.routes["/big"] = Route(
        headers={"Content-Length": str(11 * MIB)}, body=repeated(BLOCK, 1), delay=30
    )
    assert "Content-Length is 11534336 bytes" in refused(fetcher, server.url("/big"))


@pytest.mark.parametrize("chunked", [False, True])
def test_streamed_body_over_the_cap_is_cut_off(
    server: ImageServer, fetcher: ImageFetcher, chunked: bool
) -> None:
    server.routes["/big"] = Route(body=repeated(BLOCK, 11 * 16), send_length=False, chunked=chunked)
    assert "larger than 10 MB" in refused(fetcher, server.url("/big"))


def test_a_body_exactly_at_the_cap_is_accepted(server: ImageServer) -> None:
    server.routes["/edge"] = Route(body=repeated(BLOCK, 4), send_length=False)
    with ImageFetcher(allow_hosts=frozenset({server.authority}), max_bytes=4 * len(BLOCK)) as f:
        assert len(f.fetch(server.url("/edge"))) == 4 * len(BLOCK)
        server.routes["/over"] = Route(body=repeated(BLOCK + b"x", 4), send_length=False)
        assert "larger than" in refused(f, server.url("/over"))


@pytest.fixture
def impatient(server: ImageServer) -> Iterator[ImageFetcher]:
    with ImageFetcher(allow_hosts=frozenset({server.authority}), deadline_seconds=1.0) as built:
        yield built


def test_slow_drip_body_hits_the_deadline(server: ImageServer, impatient: ImageFetcher) -> None:
    server.routes["/drip"] = Route(body=repeated(b"\x89", 100), send_length=False, delay=0.1)
    assert "took longer than 1 s" in refused(impatient, server.url("/drip"))


def test_slow_drip_headers_hit_the_deadline(server: ImageServer, impatient: ImageFetcher) -> None:
    # Each byte arrives well inside any per-read timeout and the header never ends: only the
    # whole-fetch deadline (the watchdog) stops this; without it the fetch would hang.
    server.routes["/drip"] = Route(header_drip=0.02)
    assert "took longer than 1 s" in refused(impatient, server.url("/drip"))


def test_slow_dns_hits_the_deadline() -> None:
    release = threading.Event()

    def hanging(_host: str, _port: int) -> list[str]:
        release.wait(10)
        return ["93.184.215.14"]

    try:
        with ImageFetcher(resolver=hanging, deadline_seconds=0.5) as fetcher:
            assert "took too long" in refused(fetcher, "http://slow-dns.example/a.png")
    finally:
        release.set()


def test_dns_failure_is_explained() -> None:
    def failing(host: str, _port: int) -> list[str]:
        raise OSError(-2, "Name or service not known")

    with ImageFetcher(resolver=failing) as fetcher:
        message = refused(fetcher, "http://no-such-host.example/a.png")
    assert "could not resolve the image host 'no-such-host.example'" in message


def test_connection_refused_is_explained(server: ImageServer) -> None:
    with ImageServer() as closed:
        authority, url = closed.authority, closed.url("/a.png")
    with ImageFetcher(allow_hosts=frozenset({authority})) as fetcher:
        assert "could not connect to the image host" in refused(fetcher, url)


# -- TLS: SNI and certificate checks use the name, the socket uses the checked IP ---------------


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    if shutil.which("openssl") is None:
        pytest.skip("needs the openssl command to make a test certificate")
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "2",
            "-keyout",
            str(key),
            "-out",
            str(cert),
            "-subj",
            "/CN=images.example",
            "-addext",
            "subjectAltName=DNS:images.example",
        ],
        check=True,
        capture_output=True,
    )
    return cert, key


@pytest.fixture
def tls_server(certificate: tuple[Path, Path]) -> Iterator[tuple[ImageServer, list[str]]]:
    cert, key = certificate
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    server_names: list[str] = []

    def record_sni(_sock: ssl.SSLObject, name: str | None, _ctx: ssl.SSLContext) -> None:
        server_names.append(str(name))

    context.sni_callback = record_sni
    with ImageServer() as server:
        server.use_tls(context)
        yield server, server_names


def test_https_sends_sni_and_checks_the_certificate_for_the_name(
    tls_server: tuple[ImageServer, list[str]], certificate: tuple[Path, Path]
) -> None:
    server, server_names = tls_server
    server.image("/a.png", PNG)
    client_tls = ssl.create_default_context(cafile=str(certificate[0]))
    with ImageFetcher(
        allow_hosts=frozenset({server.authority}),
        ssl_context=client_tls,
        resolver=lambda _h, _p: ["127.0.0.1"],
    ) as fetcher:
        assert fetcher.fetch(f"https://images.example:{server.port}/a.png") == PNG
        # Same server and address, but the URL's name is not on the certificate.
        message = refused(fetcher, f"https://other.example:{server.port}/a.png")
    assert "TLS certificate is not valid" in message
    assert server_names[0] == "images.example"
    assert server.seen[0].headers["Host"] == f"images.example:{server.port}"


def test_https_refuses_an_untrusted_certificate(
    tls_server: tuple[ImageServer, list[str]],
) -> None:
    server, _names = tls_server
    with ImageFetcher(
        allow_hosts=frozenset({server.authority}), resolver=lambda _h, _p: ["127.0.0.1"]
    ) as fetcher:
        message = refused(fetcher, f"https://images.example:{server.port}/a.png")
    assert "TLS certificate is not valid" in message
