"""Blob storage for media files: the ``BlobStore`` protocol, a local-directory store, an
S3-compatible store (``storage.s3``, imported only where configured: it loads boto3), the
factory that picks one from the settings (``storage.factory``), and the key layout
(``storage.layout``) every reader and writer uses."""

from reelforge.storage import layout
from reelforge.storage.base import BlobStore
from reelforge.storage.local import LocalBlobStore

__all__ = ["BlobStore", "LocalBlobStore", "layout"]
