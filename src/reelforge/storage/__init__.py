"""Blob storage for media files."""

from reelforge.storage.base import BlobStore
from reelforge.storage.local import LocalBlobStore

__all__ = ["BlobStore", "LocalBlobStore"]
