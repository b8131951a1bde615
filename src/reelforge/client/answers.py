"""Turning what came back (or did not) into the client's errors, each one line that names the
server and what to check."""

from __future__ import annotations

import socket
import ssl
from collections.abc import Iterator
from typing import Any

import httpx

from reelforge.client.errors import (
    ApiError,
    AuthenticationError,
    ClientError,
    NotAReelForgeServer,
    NotFoundError,
    ServerError,
    ServerUnreachable,
)

CHECK_SERVER = "check --server or REELFORGE_URL"
CHECK_KEY = "check --api-key or REELFORGE_API_KEY"


def unreachable(base_url: str, exc: httpx.TransportError) -> ClientError:
    """A request that got no HTTP answer: why, in words a user can act on."""
    if isinstance(exc, httpx.ProtocolError) and "without sending a response" not in str(exc):
        # Something listens there, but it does not speak HTTP.
        return NotAReelForgeServer(
            f"{base_url} did not answer in HTTP ({_first_line(exc)}); {CHECK_SERVER}"
        )
    return ServerUnreachable(f"cannot reach {base_url}: {_reason(exc)}; {CHECK_SERVER}")


def _reason(exc: httpx.TransportError) -> str:
    if isinstance(exc, httpx.TimeoutException):
        return "no answer in time (the server or the network is stalled)"
    if isinstance(exc, httpx.ProtocolError):
        return "it closed the connection without an answer (not an HTTP server, or stopping?)"
    for cause in _causes(exc):
        if isinstance(cause, socket.gaierror):
            host = exc.request.url.host if _has_request(exc) else "the host"
            return f"host {host} not found"
        if isinstance(cause, ConnectionRefusedError):
            return "connection refused (is `reelforge serve` running there, on that port?)"
        if isinstance(cause, ssl.SSLError):
            return f"TLS failed ({cause.reason or cause}; http:// for a server without TLS?)"
    return _first_line(exc) or type(exc).__name__


def _causes(exc: BaseException) -> Iterator[BaseException]:
    seen: BaseException | None = exc
    while seen is not None:
        yield seen
        seen = seen.__cause__ or seen.__context__


def _has_request(exc: httpx.TransportError) -> bool:
    try:
        exc.request  # noqa: B018 - raises RuntimeError when the error carries no request
    except RuntimeError:
        return False
    return True


def _first_line(exc: BaseException) -> str:
    return str(exc).strip().splitlines()[0] if str(exc).strip() else ""


def error_for(response: httpx.Response, base_url: str) -> ClientError:
    """The error an unsuccessful answer stands for. ReelForge answers every error on the
    OpenAI surface as ``{"error": {"message", "code", ...}}``; anything else came from
    another server, or from a proxy in front of ours."""
    status = response.status_code
    what = f"{response.request.method} {response.request.url.path}"
    body = _openai_error(response)
    if body is None:
        reason = f"{status} {response.reason_phrase}".strip()
        if status >= 500:
            return ServerError(
                f"{base_url} answered {what} with {reason}; the server (or a proxy in front of "
                "it) failed, try again later",
                status=status,
            )
        return NotAReelForgeServer(
            f"{base_url} answered {what} with {reason} ({_media_type(response)}), which is not "
            f"how a ReelForge server answers; {CHECK_SERVER}",
        )
    message, code, param = body
    if status == 401:
        return AuthenticationError(
            f"{base_url} refused the API key: {message} ({CHECK_KEY})", status=status, code=code
        )
    if status == 404:
        return NotFoundError(message, status=status, code=code)
    if status >= 500:
        return ServerError(
            f"{base_url} failed ({status}): {message}; try again later", status=status, code=code
        )
    return ApiError(f"{message} ({status})", status=status, code=code, param=param)


def _openai_error(response: httpx.Response) -> tuple[str, str | None, str | None] | None:
    """(message, code, param) of an OpenAI-shaped error body, else None."""
    if _media_type(response) != "application/json":
        return None
    try:
        body: Any = response.json()
    except ValueError:
        return None
    error = body.get("error") if isinstance(body, dict) else None
    if not isinstance(error, dict) or not isinstance(error.get("message"), str):
        return None
    code, param = error.get("code"), error.get("param")
    return (
        error["message"],
        code if isinstance(code, str) else None,
        param if isinstance(param, str) else None,
    )


def _media_type(response: httpx.Response) -> str:
    value: str = response.headers.get("content-type", "no content type")
    return value.split(";")[0].strip().lower()


def json_body(response: httpx.Response, base_url: str) -> object:
    """The JSON of a successful answer; anything else is not our server."""
    if _media_type(response) == "application/json":
        try:
            return response.json()
        except ValueError:
            pass
    what = f"{response.request.method} {response.request.url.path}"
    raise NotAReelForgeServer(
        f"{base_url} answered {what} with {_media_type(response)} instead of JSON; {CHECK_SERVER}"
    )


def unexpected_shape(response: httpx.Response, base_url: str, problem: str) -> ClientError:
    what = f"{response.request.method} {response.request.url.path}"
    return NotAReelForgeServer(
        f"{base_url} answered {what} with JSON that is not ReelForge's ({problem}); {CHECK_SERVER}"
    )


def check_media_type(response: httpx.Response, base_url: str, expected: str) -> None:
    """A download must be the file asked for, not a login page served with 200."""
    found = _media_type(response)
    if found != expected:
        what = f"{response.request.method} {response.request.url.path}"
        raise NotAReelForgeServer(
            f"{base_url} answered {what} with {found} instead of {expected}; {CHECK_SERVER}"
        )
