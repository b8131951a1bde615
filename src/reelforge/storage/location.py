"""Parsing ``blob_url`` (``s3://bucket/prefix``): kept free of other imports so the settings
can validate it without loading a storage client."""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import urlsplit

# S3's own bucket naming rules (3-63 characters, lowercase, digits, dots, hyphens), loosened to
# allow the upper case and underscores that some S3-compatible stores accept.
_BUCKET = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{2,62}$")
BAD_SEGMENT = re.compile(r"(^|/)\.{1,2}(/|$)|//")
"""An empty, ``.`` or ``..`` path segment: keys and prefixes must name one object plainly."""


@dataclass(frozen=True, slots=True)
class S3Location:
    bucket: str
    prefix: str
    """Prepended to every key, without a trailing slash; empty for the bucket's root."""

    @property
    def url(self) -> str:
        return f"s3://{self.bucket}/{self.prefix}" if self.prefix else f"s3://{self.bucket}"


def parse_blob_url(url: str) -> S3Location:
    """``s3://bucket[/prefix]``; ``ValueError`` with a message that says what to write."""
    parts = urlsplit(url.strip())
    if parts.scheme.lower() != "s3":
        raise ValueError(
            f"scheme {parts.scheme or '(none)'!r} is not supported; write s3://bucket/prefix "
            "(unset it to keep media in the data directory)"
        )
    if parts.query or parts.fragment or "@" in parts.netloc:
        raise ValueError(
            "write s3://bucket/prefix only; credentials and endpoints go in their own settings"
        )
    if not _BUCKET.fullmatch(parts.netloc):
        raise ValueError(f"{parts.netloc or '(empty)'!r} is not a bucket name; write s3://bucket")
    prefix = parts.path.strip("/")
    if BAD_SEGMENT.search(prefix):
        raise ValueError(f"prefix {prefix!r} has an empty, '.' or '..' segment")
    return S3Location(parts.netloc, prefix)
