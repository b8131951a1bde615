"""ReelForge: self-hosted video generation behind the Sora task API and OpenAI's /v1/videos."""

__version__ = "0.1.0"
