"""Choosing and building the process's BlobStore from Settings: local directory or S3."""

from __future__ import annotations

from typing import TYPE_CHECKING

from reelforge.core.config import Settings
from reelforge.domain.errors import ConfigError
from reelforge.storage.base import BlobStore
from reelforge.storage.local import LocalBlobStore
from reelforge.storage.location import parse_blob_url

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

# Requests that hang would hold a worker's attempt or an API thread: bounded everywhere.
CONNECT_SECONDS = 5.0
READ_SECONDS = 60.0
ATTEMPTS = 4
# Start-up must fail in seconds when the endpoint is wrong, not after minutes of retries.
PROBE_CONNECT_SECONDS = 2.0
PROBE_READ_SECONDS = 5.0
PROBE_ATTEMPTS = 2


def open_blob_store(settings: Settings) -> BlobStore:
    """The store ``settings`` name; not yet checked (``check_writable`` does that)."""
    if settings.blob_url is None:
        return LocalBlobStore(settings.resolved_media_dir)
    from reelforge.storage.s3 import S3BlobStore  # boto3 loads only where S3 is used

    try:
        location = parse_blob_url(settings.blob_url)
    except ValueError as exc:
        raise ConfigError(f"invalid setting blob_url (REELFORGE_BLOB_URL): {exc}") from None
    return S3BlobStore(
        s3_client(settings),
        location,
        probe_client=s3_client(settings, probe=True),
        presign_client=(
            s3_client(settings, endpoint_url=settings.s3_presign_endpoint_url)
            if settings.s3_presign_endpoint_url
            else None
        ),
    )


def s3_client(
    settings: Settings, *, probe: bool = False, endpoint_url: str | None = None
) -> S3Client:
    """A boto3 S3 client: REELFORGE_S3_* settings first, then boto3's own resolution (AWS_*
    environment variables, AWS_PROFILE and ~/.aws files, instance and container roles)."""
    import boto3
    from botocore.config import Config
    from botocore.exceptions import BotoCoreError

    config = Config(
        connect_timeout=PROBE_CONNECT_SECONDS if probe else CONNECT_SECONDS,
        read_timeout=PROBE_READ_SECONDS if probe else READ_SECONDS,
        retries={"mode": "standard", "max_attempts": PROBE_ATTEMPTS if probe else ATTEMPTS},
        max_pool_connections=32,
        s3={"addressing_style": settings.s3_addressing_style},
        signature_version="s3v4",
        # Checksums only where S3 requires them: the newer default (CRC32 trailers on every
        # upload) is refused by several S3-compatible stores.
        request_checksum_calculation="when_required",
        response_checksum_validation="when_required",
    )
    secret = settings.s3_secret_access_key
    session = boto3.session.Session()
    try:
        return session.client(
            "s3",
            region_name=settings.s3_region,
            endpoint_url=endpoint_url or settings.s3_endpoint_url,
            aws_access_key_id=settings.s3_access_key_id,
            aws_secret_access_key=secret.get_secret_value() if secret else None,
            config=config,
        )
    except ValueError as exc:  # e.g. a malformed endpoint URL
        raise ConfigError(f"invalid S3 settings: {exc}; check REELFORGE_S3_ENDPOINT_URL") from None
    except BotoCoreError as exc:  # an unknown AWS_PROFILE and the like
        raise ConfigError(
            f"invalid S3 settings ({type(exc).__name__}: {exc}); check AWS_PROFILE and "
            "the REELFORGE_S3_* settings"
        ) from None
