"""Bearer API keys: every endpoint but health checks needs one; owner = the key's id."""

from __future__ import annotations

from fastapi import Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from reelforge.api.errors import ApiError
from reelforge.store.keys import ApiKey, KeyStore, looks_like_token

bearer_scheme = HTTPBearer(
    auto_error=False,
    scheme_name="ApiKey",
    description="`Authorization: Bearer rf_...`; create keys with `reelforge keys create`.",
)
_CHALLENGE = {"WWW-Authenticate": "Bearer"}


def authenticate(
    keys: KeyStore, request: Request, credentials: HTTPAuthorizationCredentials | None
) -> ApiKey:
    if credentials is None:
        raise _unauthorized(
            "missing API key; send the header `Authorization: Bearer rf_...` "
            "(create a key with `reelforge keys create`)",
            title="Missing API Key",
        )
    token = credentials.credentials.strip()
    if not looks_like_token(token):
        raise _unauthorized(
            "Invalid API Key format: ReelForge keys look like rf_<12 hex>_<43 characters>; "
            "check that the whole key was copied",
            title="Invalid API Key format",
        )
    key = keys.verify(token)
    if key is None:
        raise _unauthorized(
            "invalid or revoked API key; `reelforge keys list` shows the active keys",
            title="Invalid API Key",
        )
    request.state.owner = key.id
    return key


def _unauthorized(message: str, *, title: str) -> ApiError:
    return ApiError(401, message, code="invalid_api_key", title=title, headers=_CHALLENGE)
