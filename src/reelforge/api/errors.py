"""Errors on the wire: one exception, two body shapes chosen by the surface a path belongs to.

- OpenAI surface (``/v1/...``): ``{"error": {"message", "type", "param", "code"}}``.
- Seed surface (``/vendors/...``, signed file links): the gateway's RFC 7807-like body
  ``{"status", "title", "detail", "instance", "error_code"}``.

Domain exceptions (``SpecError``, ``JobNotFound``, ``JobFinished``, ``PolicyRefused``,
``IdempotencyConflict``, ``QuotaExceeded``, ``ModelNotAllowed``) and a database outage
(503 with ``Retry-After``) are translated here, so routes just let them propagate.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import Message, Receive, Scope, Send

from reelforge.api.allow import allowed_methods
from reelforge.api.asgi import HttpMiddleware
from reelforge.domain.errors import (
    IdempotencyConflict,
    JobFinished,
    JobNotFound,
    PolicyRefused,
    SpecError,
)
from reelforge.domain.limits import MAX_IMAGE_BYTES, MAX_IMAGE_FIELD_CHARS, describe_size
from reelforge.domain.quotas import ModelNotAllowed, QuotaExceeded
from reelforge.store.database import (
    UNAVAILABLE_RETRY_SECONDS,
    DatabaseError,
    describe,
    is_unavailable,
)

log = logging.getLogger(__name__)

UNKNOWN_TASK_CODE = 2005
"""Gateway ``error_code`` for an unknown task id; gateway clients treat it as final."""

_SEED_CODES = {
    400: 1001,
    401: 0,
    403: 1003,
    404: 1004,
    405: 1005,
    409: 4009,
    413: 1013,
    415: 1015,
    422: 4022,
    429: 4029,
    500: 5000,
    503: 5003,
}
_TITLES = {
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    409: "Conflict",
    413: "Payload Too Large",
    415: "Unsupported Media Type",
    422: "Unprocessable Entity",
    429: "Too Many Requests",
    500: "Internal Server Error",
    503: "Service Unavailable",
}
_OPENAI_TYPES = {
    401: "invalid_request_error",
    403: "permission_error",
    409: "conflict_error",
    429: "rate_limit_error",
    500: "server_error",
    503: "server_error",
}


class ApiError(Exception):
    """An HTTP error with a message that says what was wrong and how to fix it."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        code: str | None = None,
        param: str | None = None,
        title: str | None = None,
        error_code: int | None = None,
        headers: dict[str, str] | None = None,
        error_type: str | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.code = code
        self.param = param
        self.title = title
        self.error_code = error_code
        self.headers = headers
        self.error_type = error_type


def documented(model: type[BaseModel], descriptions: dict[int, str]) -> dict[int | str, Any]:
    """OpenAPI ``responses`` entries: each status with its error model and description."""
    return {code: {"model": model, "description": text} for code, text in descriptions.items()}


def is_openai_path(path: str) -> bool:
    return path == "/v1" or path.startswith("/v1/")


def error_response(request: Request, error: ApiError) -> JSONResponse:
    path = request.url.path
    if is_openai_path(path):
        body: dict[str, Any] = {
            "error": {
                "message": error.message,
                "type": error.error_type
                or _OPENAI_TYPES.get(error.status, "invalid_request_error"),
                "param": error.param,
                "code": error.code,
            }
        }
    else:
        body = {
            "status": error.status,
            "title": error.title or _TITLES.get(error.status, "Error"),
            "detail": error.message,
            "instance": path,
            "error_code": error.error_code
            if error.error_code is not None
            else _SEED_CODES.get(error.status, error.status * 10),
        }
    return JSONResponse(body, status_code=error.status, headers=error.headers)


def spec_error(exc: SpecError, request: Request) -> ApiError:
    param = exc.field
    if param == "image" and is_openai_path(request.url.path):
        param = "input_reference"
    return ApiError(400, str(exc), code="invalid_value", param=param, title="Invalid Parameters")


def not_found(what: str) -> ApiError:
    """404 for an id the caller cannot see (unknown, deleted, expired or another key's)."""
    return ApiError(
        404,
        f"{what} does not exist (or belongs to another API key); check the id",
        title="Task Not Found",
        error_code=UNKNOWN_TASK_CODE,
    )


def policy_refused(exc: PolicyRefused) -> ApiError:
    return ApiError(
        400,
        exc.public_message,
        code="moderation_blocked",
        title="Content Policy Violation",
    )


def validation_message(exc: RequestValidationError) -> tuple[str, str | None]:
    """The first validation problem as one line naming the field, plus that field."""
    errors = exc.errors()
    if not errors:
        return "the request is invalid", None
    first = errors[0]
    loc = [str(part) for part in first.get("loc", ()) if part not in ("body", "query", "path")]
    field = ".".join(loc) or None
    message = str(first.get("msg", "invalid value"))
    if first.get("type") == "missing":
        return f"{field} is required", field
    if field and field.split(".")[-1] in ("image", "image_url"):
        return _image_field_message(field, first), field
    if "input" in first and first.get("type") != "json_invalid":
        shown = repr(first["input"])
        shown = shown if len(shown) <= 80 else shown[:77] + "..."
        message = f"{message} (got {shown})"
    return (f"{field}: {message}" if field else message), field


def _image_field_message(field: str, error: Any) -> str:
    if error.get("type") == "string_too_long":
        return (
            f"{field} is too long: the limit is {describe_size(MAX_IMAGE_BYTES)} of image data "
            f"({MAX_IMAGE_FIELD_CHARS:,} characters as a data URL); send a smaller JPEG, PNG "
            "or WebP"
        )
    return (
        f"{field} must be an http(s) URL or a data URL like data:image/png;base64,... "
        f"({error.get('msg', 'invalid value')})"
    )


def idempotency_error(exc: IdempotencyConflict) -> ApiError:
    if exc.reused:
        return ApiError(422, str(exc), code="idempotency_key_reused")
    # 409 while the first request runs; the openai SDK retries 409 after retry-after-ms.
    headers = {"Retry-After": "1", "retry-after-ms": "500"}
    return ApiError(409, str(exc), code="idempotency_key_in_use", headers=headers)


def job_finished(exc: JobFinished, request: Request) -> ApiError:
    """409 for a cancel of a job that already completed or failed (the record is unchanged)."""
    thing, active = (
        ("video", "queued or in_progress")
        if is_openai_path(request.url.path)
        else ("task", "pending or processing")
    )
    return ApiError(
        409,
        f"the {thing} already {exc.status} and cannot be cancelled; only a {active} {thing} "
        "can be cancelled",
        code=f"{thing}_already_finished",
        title="Task Already Finished",
        error_type="invalid_request_error",
        # Final: the openai SDK retries a 409 unless told not to.
        headers={"x-should-retry": "false"},
    )


_BUDGETS = (
    "daily_video_seconds",
    "monthly_video_seconds",
    "daily_gpu_seconds",
    "monthly_gpu_seconds",
)


def quota_exceeded(exc: QuotaExceeded) -> ApiError:
    """429 naming the limit, its value and when to retry.

    ``Retry-After`` (and ``retry-after-ms``) say when a retry can succeed; the openai SDK waits
    that long before its own retry when it is at most a minute. A longer wait (a budget that
    resets at midnight) or none at all (a video larger than the whole budget) is sent with
    ``x-should-retry: false``, so clients do not hammer a limit that will not lift soon. No
    job exists for a refused request, so a retry never duplicates one."""
    headers = {
        "Retry-After": str(exc.retry_after_seconds),
        "retry-after-ms": str(max(1, round(exc.retry_after * 1000))),
        "x-reelforge-limit": exc.limit,
        "x-should-retry": "true" if exc.worth_retrying else "false",
    }
    budget = exc.limit in _BUDGETS
    return ApiError(
        429,
        str(exc),
        code="insufficient_quota" if budget else "rate_limit_exceeded",
        error_type="insufficient_quota" if budget else "rate_limit_error",
        title="Quota Exceeded" if budget else "Too Many Requests",
        headers=headers,
    )


def model_not_allowed(exc: ModelNotAllowed) -> ApiError:
    return ApiError(
        403, str(exc), code="model_not_allowed", param="model", title="Model Not Allowed"
    )


def invalid_request(exc: RequestValidationError) -> ApiError:
    message, field = validation_message(exc)
    return ApiError(400, message, param=field, code="invalid_value", title="Invalid Parameters")


def http_error(request: Request, exc: StarletteHTTPException) -> ApiError:
    message = str(exc.detail)
    if exc.status_code == 404:
        message = f"no route {request.method} {request.url.path}; see /docs for the API"
    headers = dict(exc.headers) if exc.headers else None
    if exc.status_code == 405:
        allowed = ", ".join(allowed_methods(request))
        headers = {**(headers or {}), "Allow": allowed}
        message = f"{request.method} is not allowed on {request.url.path}; it allows {allowed}"
    return ApiError(exc.status_code, message, headers=headers)


def database_unavailable(request: Request, exc: Exception) -> ApiError:
    """503 with ``Retry-After`` while the database cannot be reached: the client retries later.
    A create answered so was not acknowledged; it queued nothing unless the outage took only
    the commit's reply, which is why the message points at ``Idempotency-Key``. One log line,
    no traceback: the driver's exception chain is long and says nothing more."""
    log.warning(
        "database unavailable on %s %s: %s", request.method, request.url.path, describe(exc)
    )
    seconds = UNAVAILABLE_RETRY_SECONDS
    return ApiError(
        503,
        f"the database is unavailable right now; retry in {seconds} s (with an "
        "Idempotency-Key, a retried create never makes a second video)",
        code="database_unavailable",
        title="Service Unavailable",
        headers={"Retry-After": str(seconds), "retry-after-ms": str(seconds * 1000)},
    )


async def _database_error(request: Request, exc: Exception) -> JSONResponse:
    if is_unavailable(exc):
        return error_response(request, database_unavailable(request, exc))
    return await run_in_threadpool(_render_unexpected, request, exc)  # a bug: log it in full


def unexpected(request: Request, exc: Exception) -> ApiError:
    # exc_info given: this runs in the thread pool, where the exception is not "current".
    log.error("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    return ApiError(500, "the server hit an unexpected error; it is logged, please retry")


# Each exception type -> the ApiError it becomes; the body shape follows the request's surface.
_TRANSLATIONS: dict[type[Exception], Callable[[Request, Any], ApiError]] = {
    ApiError: lambda _request, exc: exc,
    SpecError: lambda request, exc: spec_error(exc, request),
    JobNotFound: lambda _request, _exc: not_found("this video"),
    PolicyRefused: lambda _request, exc: policy_refused(exc),
    IdempotencyConflict: lambda _request, exc: idempotency_error(exc),
    JobFinished: lambda request, exc: job_finished(exc, request),
    QuotaExceeded: lambda _request, exc: quota_exceeded(exc),
    ModelNotAllowed: lambda _request, exc: model_not_allowed(exc),
    RequestValidationError: lambda _request, exc: invalid_request(exc),
    StarletteHTTPException: http_error,
    Exception: unexpected,
}


def install_error_handlers(app: FastAPI) -> None:
    for kind, translate in _TRANSLATIONS.items():
        if kind is Exception:
            continue

        async def handle(
            request: Request, exc: Exception, translate: Callable[..., ApiError] = translate
        ) -> JSONResponse:
            return error_response(request, translate(request, exc))

        app.add_exception_handler(kind, handle)
    app.add_exception_handler(DatabaseError, _database_error)
    # A sync handler: Starlette runs it in the thread pool (errors raised by outer middleware).
    app.add_exception_handler(Exception, _render_unexpected)
    app.add_middleware(UnexpectedErrors)


def _render_unexpected(request: Request, exc: Exception) -> JSONResponse:
    return error_response(request, unexpected(request, exc))


class UnexpectedErrors(HttpMiddleware):
    """Answers an exception that no handler took with the surface's 500, and logs it in the
    thread pool.

    Formatting and writing a traceback (a database driver's is long) on the event loop stalls
    every other request, ``/healthz`` included: with the database down that was seconds at a
    time. Starlette's own fallback also re-raises the exception after answering, so the server
    logs it a second time, on the loop; this middleware does not re-raise.
    """

    async def http(self, scope: Scope, receive: Receive, send: Send) -> None:
        started = False

        async def tracked(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, tracked)
        except Exception as exc:
            request = Request(scope)
            response = await run_in_threadpool(_render_unexpected, request, exc)
            if not started:  # else the server closes the half-sent response's connection
                await response(scope, receive, send)
