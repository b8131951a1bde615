"""A typed client for a running ReelForge server's OpenAI surface (``/v1/videos``), used by
``reelforge jobs ...`` and ``reelforge generate --server``; it needs httpx only, not the
server's stack.

    with ReelForgeClient("http://127.0.0.1:8000", "rf_...") as client:
        video = client.create(CreateVideo("a red kite over a park", seconds=4))
        for state in client.follow(video.id):
            print(state.status, state.progress)
        with open("kite.mp4", "wb") as out:
            client.download(video.id, out)

- ``videos``: ``ReelForgeClient`` and ``CreateVideo``;
- ``models``: ``Video``, ``VideoPage``, ``VideoEvent`` (parsed and checked);
- ``errors``: ``ClientError`` and its subclasses, each one line to show;
- ``answers``: HTTP answers and transport failures to those errors; ``sse``: the stream reader.
"""

from reelforge.client.errors import (
    ApiError,
    AuthenticationError,
    ClientError,
    InvalidServerUrl,
    NotAReelForgeServer,
    NotFoundError,
    ServerError,
    ServerUnreachable,
)
from reelforge.client.models import Variant, Video, VideoEvent, VideoFailure, VideoPage
from reelforge.client.videos import CreateVideo, ReelForgeClient, server_url

__all__ = [
    "ApiError",
    "AuthenticationError",
    "ClientError",
    "CreateVideo",
    "InvalidServerUrl",
    "NotAReelForgeServer",
    "NotFoundError",
    "ReelForgeClient",
    "ServerError",
    "ServerUnreachable",
    "Variant",
    "Video",
    "VideoEvent",
    "VideoFailure",
    "VideoPage",
    "server_url",
]
