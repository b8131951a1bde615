"""``ReelForgeClient``: the OpenAI surface of a ReelForge server (``/v1/videos``) over httpx:
list, retrieve, create, cancel, download, and follow a video's status live.

Every failure is a ``ClientError`` with one line to show (``reelforge.client.errors``);
httpx's own exceptions never leave this module."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import IO, Any, Final, TypeVar
from urllib.parse import quote, urlsplit

import httpx

from reelforge import __version__
from reelforge.client.answers import (
    CHECK_KEY,
    CHECK_SERVER,
    check_media_type,
    error_for,
    json_body,
    unexpected_shape,
    unreachable,
)
from reelforge.client.errors import (
    ClientError,
    InvalidServerUrl,
    NotFoundError,
    ServerUnreachable,
)
from reelforge.client.models import ShapeError, Variant, Video, VideoEvent, VideoPage
from reelforge.client.sse import parse_sse

DEFAULT_TIMEOUT: Final = 30.0
CONNECT_TIMEOUT: Final = 10.0
STREAM_READ_TIMEOUT: Final = 60.0
"""Longer than the server's keep-alive interval (15 s), so a quiet stream is not cut."""
MAX_PAGE: Final = 100
MAX_RECONNECTS: Final = 5
T = TypeVar("T")
VARIANT_MEDIA_TYPES: Final[dict[str, str]] = {
    "video": "video/mp4",
    "thumbnail": "image/webp",
    "spritesheet": "image/jpeg",
}


@dataclass(frozen=True, slots=True)
class CreateVideo:
    """What ``POST /v1/videos`` takes; ``image`` (a file's bytes) is sent as multipart
    ``input_reference``, the first frame."""

    prompt: str
    model: str = "sora-2"
    size: str = "1280x720"
    seconds: int = 4
    seed: int | None = None
    image: bytes | None = None
    image_name: str = "image"


def server_url(value: str) -> str:
    """``http(s)://host[:port][/prefix]`` without a trailing slash or ``/v1`` (the OpenAI
    SDK's base URL is accepted too)."""
    url = value.strip().rstrip("/")
    url = url.removesuffix("/v1")
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InvalidServerUrl(
            f"server URL {value!r} is not an http(s) URL; pass one like http://127.0.0.1:8000 "
            f"({CHECK_SERVER})"
        )
    return url


def _bearer(api_key: str) -> str:
    token = api_key.strip()
    if not token or not token.isascii() or not token.isprintable() or " " in token:
        raise ClientError(f"the API key is empty or has characters no key has ({CHECK_KEY})")
    return f"Bearer {token}"


class ReelForgeClient:
    """One server, one key. Use it as a context manager, or call ``close()``."""

    def __init__(
        self,
        server: str,
        api_key: str,
        *,
        timeout: float = DEFAULT_TIMEOUT,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.base_url = server_url(server)
        self.timeout = timeout
        self.poll_seconds = 1.0
        """Between two retrieves when following a video without its event stream."""
        self._sleep = sleep
        self._http = httpx.Client(
            base_url=self.base_url,
            headers={
                "Authorization": _bearer(api_key),
                "User-Agent": f"reelforge-cli/{__version__}",
            },
            timeout=httpx.Timeout(timeout, connect=min(timeout, CONNECT_TIMEOUT)),
            transport=transport,
        )

    def __enter__(self) -> ReelForgeClient:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    # -- the API -------------------------------------------------------------------------------

    def list_videos(
        self, *, limit: int = 20, after: str | None = None, order: str = "desc"
    ) -> VideoPage:
        params: dict[str, Any] = {"limit": limit, "order": order}
        if after is not None:
            params["after"] = after
        response = self._request("GET", "/v1/videos", params=params)
        return self._parsed(response, VideoPage.from_json)

    def iter_videos(self, *, limit: int | None = None, order: str = "desc") -> Iterator[Video]:
        """Every video of the key, newest first by default, following ``after`` page by
        page; at most ``limit`` when given."""
        after: str | None = None
        remaining = limit
        while remaining is None or remaining > 0:
            size = MAX_PAGE if remaining is None else min(MAX_PAGE, remaining)
            page = self.list_videos(limit=size, after=after, order=order)
            yield from page.data
            if remaining is not None:
                remaining -= len(page.data)
            if not page.has_more or page.last_id is None:
                return
            after = page.last_id

    def retrieve(self, video_id: str) -> Video:
        return self._video(self._request("GET", _video_path(video_id)))

    def cancel(self, video_id: str) -> Video:
        """Cancel a queued or running video (a running one may still read ``in_progress``
        for one engine step)."""
        return self._video(self._request("POST", _video_path(video_id, "cancel")))

    def create(self, request: CreateVideo) -> Video:
        fields: dict[str, Any] = {
            "prompt": request.prompt,
            "model": request.model,
            "size": request.size,
            "seconds": str(request.seconds),
        }
        if request.seed is not None:
            fields["seed"] = request.seed
        if request.image is None:
            return self._video(self._request("POST", "/v1/videos", json=fields))
        files = {"input_reference": (request.image_name, request.image)}
        form = {name: str(value) for name, value in fields.items()}
        return self._video(self._request("POST", "/v1/videos", data=form, files=files))

    def download(
        self,
        video_id: str,
        target: IO[bytes],
        *,
        variant: Variant = "video",
        on_start: Callable[[int | None], None] = lambda total: None,
        on_chunk: Callable[[int], None] = lambda size: None,
    ) -> int:
        """Stream a finished video's file (or its thumbnail or spritesheet) into ``target``;
        returns the bytes written. ``on_start`` gets the size when the server says it."""
        path = _video_path(video_id, "content")
        written = 0
        with self._stream("GET", path, params={"variant": variant}) as response:
            check_media_type(response, self.base_url, VARIANT_MEDIA_TYPES[variant])
            length = response.headers.get("content-length", "")
            on_start(int(length) if length.isdigit() else None)
            try:
                for chunk in response.iter_bytes(1 << 20):
                    target.write(chunk)
                    written += len(chunk)
                    on_chunk(len(chunk))
            except httpx.TransportError as exc:
                raise ServerUnreachable(
                    f"the download from {self.base_url} broke off after {written} bytes "
                    f"({exc or type(exc).__name__}); run it again"
                ) from None
        return written

    def events(self, video_id: str) -> Iterator[VideoEvent]:
        """The video's live events until its terminal one (the first event is its state
        now). A dropped stream is resumed from the last event id, a few times in a row."""
        last_id: str | None = None
        failures = 0
        while True:
            try:
                for event in self._event_stream(video_id, last_id):
                    last_id, failures = event.id or last_id, 0
                    yield event
                    if event.terminal:
                        return
                problem: ClientError = ServerUnreachable(
                    f"{self.base_url} ended the event stream before the video finished"
                )
            except ServerUnreachable as exc:
                problem = exc
            failures += 1
            if failures > MAX_RECONNECTS:
                raise problem
            self._sleep(min(0.5 * 2 ** (failures - 1), 5.0))

    def follow(self, video_id: str) -> Iterator[Video]:
        """The video's states until it finishes: from the event stream, or by polling when
        the server has no stream for it (an older ReelForge, or a proxy that hides it)."""
        try:
            for event in self.events(video_id):
                yield event.video
            return
        except NotFoundError:
            video = self.retrieve(video_id)  # a 404 here: the video itself is missing
        yield video
        while not video.finished:
            self._sleep(self.poll_seconds)
            video = self.retrieve(video_id)
            yield video

    def engine(self) -> str:
        """The server's engine as ``/readyz`` names it (``testcard``, ``diffusers``, ...), or
        ``unknown`` when it does not say."""
        try:
            response = self._http.get("/readyz")
            body = response.json()
        except (httpx.HTTPError, ValueError):
            return "unknown"
        engine = body.get("engine") if isinstance(body, dict) else None
        return engine if isinstance(engine, str) else "unknown"

    # -- plumbing ------------------------------------------------------------------------------

    def _request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        try:
            response = self._http.request(method, path, **kwargs)
        except httpx.TransportError as exc:
            raise unreachable(self.base_url, exc) from None
        if not response.is_success:
            raise error_for(response, self.base_url)
        return response

    @contextmanager
    def _stream(
        self, method: str, path: str, *, timeout: httpx.Timeout | None = None, **kwargs: Any
    ) -> Iterator[httpx.Response]:
        """An answer whose body is read as it arrives. Redirects are followed (an object
        store's presigned URL); httpx drops the API key when one leaves our origin."""
        answered = False
        try:
            with self._http.stream(
                method,
                path,
                follow_redirects=True,
                timeout=timeout or self._http.timeout,
                **kwargs,
            ) as response:
                if not response.is_success:
                    response.read()
                    raise error_for(response, self.base_url)
                answered = True
                yield response
        except httpx.TransportError as exc:
            if not answered:
                raise unreachable(self.base_url, exc) from None
            raise ServerUnreachable(
                f"the connection to {self.base_url} broke off ({exc or type(exc).__name__})"
            ) from None

    def _event_stream(self, video_id: str, last_id: str | None) -> Iterator[VideoEvent]:
        headers = {"Accept": "text/event-stream"}
        if last_id is not None:
            headers["Last-Event-ID"] = last_id
        timeout = httpx.Timeout(
            self.timeout,
            connect=min(self.timeout, CONNECT_TIMEOUT),
            read=max(self.timeout, STREAM_READ_TIMEOUT),
        )
        path = _video_path(video_id, "events")
        with self._stream("GET", path, headers=headers, timeout=timeout) as response:
            check_media_type(response, self.base_url, "text/event-stream")
            for message in parse_sse(response.iter_lines()):
                try:
                    video = Video.from_json(_loads(message.data))
                except ShapeError as exc:
                    raise unexpected_shape(response, self.base_url, str(exc)) from None
                yield VideoEvent(message.event, message.id, video)

    def _video(self, response: httpx.Response) -> Video:
        return self._parsed(response, Video.from_json)

    def _parsed(self, response: httpx.Response, parse: Callable[[object], T]) -> T:
        try:
            return parse(json_body(response, self.base_url))
        except ShapeError as exc:
            raise unexpected_shape(response, self.base_url, str(exc)) from None


def _video_path(video_id: str, action: str | None = None) -> str:
    """``/v1/videos/{id}[/action]``, the id kept one path segment whatever it holds."""
    path = f"/v1/videos/{quote(video_id.strip(), safe='')}"
    return f"{path}/{action}" if action else path


def _loads(data: str) -> object:
    try:
        parsed: object = json.loads(data)
    except ValueError as exc:
        raise ShapeError(f"an event's data is not JSON ({exc})") from None
    return parsed
