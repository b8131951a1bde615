"""The HTTP API: the seed task surface and the OpenAI /v1/videos surface over one job store."""

from reelforge.api.app import create_app

__all__ = ["create_app"]
