"""Bad first-frame images, shared by the unit tests and the API tests, plus the loopback server.

Each ``BadImageCase`` builds the value a client would send as ``image`` (a data: URL, or a URL on a
real HTTP server on 127.0.0.1) for a requested ``width x height`` and names a substring the error
message must contain. URL cases that hit the loopback server need the fetcher to allow it:

    with ImageServer() as server:
        fetcher = ImageFetcher(allow_hosts=frozenset({server.authority}))
        for case in BAD_IMAGE_CASES:
            image = case.build(server, 1280, 720)
            ... expect SpecError / HTTP 400 whose message contains case.message(1280, 720)

No case needs DNS or the internet: blocked hosts are IP literals or are refused before lookup.
"""

from __future__ import annotations

import base64
import contextlib
import io
import ssl
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType

from PIL import Image

# -- images ------------------------------------------------------------------------------------


def make_image(fmt: str, width: int, height: int, *, frames: int = 1) -> bytes:
    """A real ``fmt`` ("JPEG", "PNG", "WEBP", "GIF", "BMP") image; ``frames > 1`` animates it."""
    pictures = [
        Image.new("RGB", (width, height), (40 * i % 256, 90, 200 - 30 * i % 200))
        for i in range(frames)
    ]
    buffer = io.BytesIO()
    extra = {"save_all": True, "append_images": pictures[1:], "duration": 100} if frames > 1 else {}
    pictures[0].save(buffer, fmt, **extra)
    return buffer.getvalue()


def data_url(media_type: str, data: bytes) -> str:
    return f"data:{media_type};base64,{base64.b64encode(data).decode('ascii')}"


# -- the loopback server -----------------------------------------------------------------------


@dataclass
class Route:
    """What the server answers on one path."""

    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    body: Callable[[], Iterator[bytes]] = lambda: iter(())
    delay: float = 0.0  # seconds between body chunks (slow drip)
    send_length: bool = True  # False: no Content-Length, body ends when the connection closes
    header_drip: float = 0.0  # > 0: send headers one byte per this many seconds, never ending
    chunked: bool = False  # Transfer-Encoding: chunked (implies no Content-Length)
    raw: bytes | None = None  # written as-is instead of an HTTP response (broken servers)


@dataclass(frozen=True)
class SeenRequest:
    path: str
    headers: dict[str, str]


class ImageServer:
    """A threaded HTTP server on 127.0.0.1:<free port> (by default) with routes set per test."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self.routes: dict[str, Route] = {}
        self.seen: list[SeenRequest] = []
        self.scheme = "http"
        self.host = host
        self._httpd = ThreadingHTTPServer((host, port), _make_handler(self))
        self._httpd.daemon_threads = True
        self._httpd.block_on_close = False
        self.port = self._httpd.server_address[1]
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    @property
    def authority(self) -> str:
        """``"127.0.0.1:PORT"``, the entry for ``ImageFetcher(allow_hosts=...)``."""
        return f"{self.host}:{self.port}"

    def url(self, path: str, host: str | None = None) -> str:
        return f"{self.scheme}://{host or self.host}:{self.port}{path}"

    def use_tls(self, context: ssl.SSLContext) -> None:
        """Serve HTTPS with ``context`` (call before the first request)."""
        self._httpd.socket = context.wrap_socket(self._httpd.socket, server_side=True)
        self.scheme = "https"

    def image(self, path: str, data: bytes, content_type: str = "image/png") -> str:
        self.routes[path] = Route(headers={"Content-Type": content_type}, body=lambda: iter([data]))
        return self.url(path)

    def redirect(self, path: str, location: str | None, status: int = 302) -> str:
        headers = {"Location": location} if location is not None else {}
        self.routes[path] = Route(status=status, headers=headers)
        return self.url(path)

    def __enter__(self) -> ImageServer:
        self._thread.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)


def _make_handler(server: ImageServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            server.seen.append(SeenRequest(self.path, dict(self.headers.items())))
            route = server.routes.get(self.path, Route(status=404))
            # The client may hang up early (size cap, deadline): expected in these tests.
            with contextlib.suppress(OSError):
                _answer(self, route)

        def log_message(self, format: str, *args: object) -> None:
            pass  # keep test output clean

    return Handler


def _answer(handler: BaseHTTPRequestHandler, route: Route) -> None:
    if route.raw is not None:
        handler.wfile.write(route.raw)
        return
    chunks = list(route.body()) if route.send_length and not route.chunked else None
    if route.header_drip:
        _drip_headers_forever(handler, route.header_drip)
    handler.send_response(route.status)
    for name, value in route.headers.items():
        handler.send_header(name, value)
    if chunks is not None and "Content-Length" not in route.headers:
        handler.send_header("Content-Length", str(sum(len(c) for c in chunks)))
    if route.chunked:
        handler.send_header("Transfer-Encoding", "chunked")
    handler.end_headers()
    for chunk in chunks if chunks is not None else route.body():
        framed = b"%x\r\n%s\r\n" % (len(chunk), chunk) if route.chunked else chunk
        handler.wfile.write(framed)
        handler.wfile.flush()
        if route.delay:
            time.sleep(route.delay)
    if route.chunked:
        handler.wfile.write(b"0\r\n\r\n")


def _drip_headers_forever(handler: BaseHTTPRequestHandler, delay: float) -> None:
    """A status line, then one header that never ends; stops when the client hangs up."""
    handler.wfile.write(b"HTTP/1.0 200 OK\r\nX-Drip: ")
    while True:
        handler.wfile.write(b"a")
        handler.wfile.flush()
        time.sleep(delay)


def repeated(chunk: bytes, count: int) -> Callable[[], Iterator[bytes]]:
    """A body of ``count`` copies of ``chunk``, produced lazily."""
    return lambda: (chunk for _ in range(count))


# -- the cases ---------------------------------------------------------------------------------

Builder = Callable[[ImageServer, int, int], str]


@dataclass(frozen=True)
class BadImageCase:
    name: str
    build: Builder  # (server, width, height) -> the `image` value a client sends
    expected: str  # substring of the error; {width} and {height} are the requested size
    via_url: bool  # True: needs the loopback server allowlisted in the fetcher

    def message(self, width: int, height: int) -> str:
        return self.expected.format(width=width, height=height)


def _served(path: str, fmt: str, content_type: str, scale: float = 1.0) -> Builder:
    def build(server: ImageServer, width: int, height: int) -> str:
        size = (max(1, int(width * scale)), max(1, int(height * scale)))
        return server.image(path, make_image(fmt, *size), content_type)

    return build


def _redirect_to(location: str) -> Builder:
    return lambda server, _w, _h: server.redirect("/redirect", location)


def _big_body(send_length: bool, chunked: bool = False) -> Builder:
    def build(server: ImageServer, _w: int, _h: int) -> str:
        png_head = b"\x89PNG\r\n\x1a\n" + b"\0" * (64 * 1024 - 8)
        body = repeated(png_head, 11 * 16)  # 11 MiB
        server.routes["/big"] = Route(body=body, send_length=send_length, chunked=chunked)
        return server.url("/big")

    return build


def _redirect_loop(server: ImageServer, _w: int, _h: int) -> str:
    for hop in range(5):
        server.redirect(f"/hop{hop}", f"/hop{hop + 1}")
    server.image("/hop5", make_image("PNG", 8, 8))
    return server.url("/hop0")


def _data(media_type: str, fmt: str, scale: float = 1.0, frames: int = 1) -> Builder:
    def build(_server: ImageServer, width: int, height: int) -> str:
        size = (max(1, int(width * scale)), max(1, int(height * scale)))
        return data_url(media_type, make_image(fmt, *size, frames=frames))

    return build


def _const(value: str) -> Builder:
    return lambda _server, _w, _h: value


_TOO_LONG_DATA_URL = "data:image/png;base64," + "A" * (14 * 1024 * 1024)
_SIZE_MESSAGE = "size {width}x{height} needs a {width}x{height} image"

BAD_IMAGE_CASES: tuple[BadImageCase, ...] = (
    # data: URLs
    BadImageCase(
        "data_broken_base64",
        _const("data:image/png;base64,iVBORw0K!!!"),
        "image is not valid base64",
        via_url=False,
    ),
    BadImageCase(
        "data_base64_with_newlines",
        _const("data:image/png;base64,iVBO\nRw0K"),
        "image is not valid base64",
        via_url=False,
    ),
    BadImageCase(
        "data_not_base64_form",
        _const("data:image/png,rawbytes"),
        "only base64 data URLs are accepted",
        via_url=False,
    ),
    BadImageCase(
        "data_gif_type", _data("image/gif", "GIF"), "image/gif is not accepted", via_url=False
    ),
    BadImageCase("data_jpg_alias", _data("image/jpg", "JPEG"), "write image/jpeg", via_url=False),
    BadImageCase(
        "data_declared_png_is_jpeg",
        _data("image/png", "JPEG"),
        "image declared as image/png but the bytes are JPEG",
        via_url=False,
    ),
    BadImageCase(
        "data_declared_png_is_gif",
        _data("image/png", "GIF"),
        "image declared as image/png but the bytes are GIF",
        via_url=False,
    ),
    BadImageCase(
        "data_wrong_size", _data("image/png", "PNG", scale=0.5), _SIZE_MESSAGE, via_url=False
    ),
    BadImageCase(
        "data_animated_webp",
        _data("image/webp", "WEBP", frames=3),
        "image is an animated WEBP",
        via_url=False,
    ),
    BadImageCase(
        "data_over_10_mb", _const(_TOO_LONG_DATA_URL), "the limit is 10 MB", via_url=False
    ),
    BadImageCase("data_empty", _const("data:image/png;base64,"), "empty", via_url=False),
    # URLs refused before any connection
    BadImageCase(
        "url_file_scheme", _const("file:///etc/passwd"), "image URL uses file:", via_url=False
    ),
    BadImageCase(
        "url_ftp_scheme", _const("ftp://example.com/a.png"), "image URL uses ftp:", via_url=False
    ),
    BadImageCase(
        "url_userinfo",
        _const("http://user:secret@example.com/a.png"),
        "must not contain a user name or password",
        via_url=False,
    ),
    BadImageCase("url_port", _const("http://example.com:8080/a.png"), "port 8080", via_url=False),
    BadImageCase(
        "url_loopback",
        _const("http://127.0.0.1/a.png"),
        "127.0.0.1 is loopback (127.0.0.0/8)",
        via_url=False,
    ),
    BadImageCase(
        "url_metadata",
        _const("http://169.254.169.254/latest/meta-data/"),
        "169.254.169.254 is link-local (169.254.0.0/16)",
        via_url=False,
    ),
    BadImageCase(
        "url_ipv6_loopback", _const("http://[::1]/a.png"), "::1 is loopback", via_url=False
    ),
    BadImageCase(
        "url_nat64_metadata",
        _const("http://[64:ff9b::a9fe:a9fe]/"),
        "embeds 169.254.169.254, which is link-local",
        via_url=False,
    ),
    # URLs on the loopback image server
    BadImageCase(
        "url_redirect_to_private",
        _redirect_to("http://10.1.2.3/a.png"),
        "10.1.2.3 is private (10.0.0.0/8)",
        via_url=True,
    ),
    BadImageCase(
        "url_redirect_to_metadata",
        _redirect_to("http://169.254.169.254/"),
        "169.254.169.254 is link-local",
        via_url=True,
    ),
    BadImageCase("url_redirect_loop", _redirect_loop, "redirected more than 3 times", via_url=True),
    BadImageCase(
        "url_redirect_without_location",
        lambda server, _w, _h: server.redirect("/nowhere", None),
        "without a Location header",
        via_url=True,
    ),
    BadImageCase(
        "url_not_found",
        lambda server, _w, _h: server.url("/missing.png"),
        "answered HTTP 404",
        via_url=True,
    ),
    BadImageCase(
        "url_content_length_over_10_mb", _big_body(send_length=True), "Content-Length", via_url=True
    ),
    BadImageCase(
        "url_streamed_over_10_mb", _big_body(send_length=False), "larger than 10 MB", via_url=True
    ),
    BadImageCase(
        "url_chunked_over_10_mb",
        _big_body(send_length=False, chunked=True),
        "larger than 10 MB",
        via_url=True,
    ),
    BadImageCase("url_gif", _served("/a.gif", "GIF", "image/gif"), "image is a GIF", via_url=True),
    BadImageCase("url_bmp", _served("/a.bmp", "BMP", "image/bmp"), "image is a BMP", via_url=True),
    BadImageCase(
        "url_wrong_size",
        _served("/small.png", "PNG", "image/png", scale=0.5),
        _SIZE_MESSAGE,
        via_url=True,
    ),
    # Content-Type lies: the magic bytes decide.
    BadImageCase(
        "url_gif_labelled_png",
        _served("/lie.png", "GIF", "image/png"),
        "image is a GIF",
        via_url=True,
    ),
)
