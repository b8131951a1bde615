"""Browser origins for CORS (``cors_origins``): ``scheme://host[:port]``, as a browser sends
them in ``Origin``, so a configured value either matches exactly or is refused at start."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlsplit

ANY_ORIGIN = "*"
_DEFAULT_PORTS = {"http": 80, "https": 443}


def parse_origins(value: Any) -> Any:
    """The origins ``value`` names: a list, or text (comma-separated, or a JSON list, as the
    environment gives it). Other types are left for the settings' own type error."""
    if isinstance(value, str):
        text = value.strip()
        items: Any = json.loads(text) if text.startswith("[") else text.split(",")
    else:
        items = value
    if not isinstance(items, list):
        return items
    origins = [item.strip() for item in items if not isinstance(item, str) or item.strip()]
    return [_origin(item) if isinstance(item, str) else item for item in origins]


def _origin(text: str) -> str:
    """The origin as a browser writes it (lower-case scheme and host, no trailing slash)."""
    if text == ANY_ORIGIN:
        return text
    parts = urlsplit(text.rstrip("/"))
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        raise ValueError(
            f"{text!r} is not an origin; write scheme://host[:port], e.g. https://app.example.com"
        )
    if parts.path or parts.query or parts.fragment or parts.username or parts.password:
        raise ValueError(
            f"{text!r} is not an origin: an origin has no path, query or user; "
            f"use {parts.scheme}://{parts.netloc.rpartition('@')[2]}"
        )
    try:
        port = parts.port
    except ValueError:
        raise ValueError(f"{text!r}: the port is not a number from 0 to 65535") from None
    scheme = parts.scheme.lower()
    host = parts.hostname if ":" not in parts.hostname else f"[{parts.hostname}]"
    if port is None or port == _DEFAULT_PORTS[scheme]:  # a browser leaves the default out
        return f"{scheme}://{host}"
    return f"{scheme}://{host}:{port}"
