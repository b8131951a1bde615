"""What can go wrong talking to a ReelForge server. Each message is one line that says what
happened and what to check; ``exit_code`` is what the CLI ends with (2: the caller's mistake,
such as a wrong URL, key or id; 1: the server's or the job's failure).

ClientError                 (a ReelForgeError)
├── InvalidServerUrl        the URL is not an http(s) URL
├── ServerUnreachable       connection refused, unknown host, timeout, TLS failure
├── NotAReelForgeServer     something answered, but not the OpenAI surface of ReelForge
└── ApiError                the server refused the request (``status``, ``code``)
    ├── AuthenticationError 401: missing, malformed, revoked or expired key
    ├── NotFoundError       404: no such video for this key (or no content yet)
    └── ServerError         5xx: the server failed; retrying later may work
"""

from __future__ import annotations

from reelforge.domain.errors import ReelForgeError

USAGE_EXIT = 2
FAILURE_EXIT = 1


class ClientError(ReelForgeError):
    """Base class of the client's errors."""

    exit_code = USAGE_EXIT


class InvalidServerUrl(ClientError):
    """The server URL cannot be used."""


class ServerUnreachable(ClientError):
    """No HTTP answer came back."""


class NotAReelForgeServer(ClientError):
    """An answer came back in a shape the OpenAI surface never uses."""


class ApiError(ClientError):
    """The server answered with an error in the OpenAI shape."""

    def __init__(
        self, message: str, *, status: int, code: str | None = None, param: str | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.param = param
        """The request field the error is about, when the server names one."""


class AuthenticationError(ApiError):
    """401."""


class NotFoundError(ApiError):
    """404."""


class ServerError(ApiError):
    """5xx."""

    exit_code = FAILURE_EXIT
