"""Generation engines behind one narrow interface, picked by name from configuration."""

from reelforge.engines.base import (
    Engine,
    EngineOutput,
    EngineRequest,
    JobControl,
    RenderedFile,
    VideoClip,
    create_engine,
    engine_names,
    register_engine,
)

__all__ = [
    "Engine",
    "EngineOutput",
    "EngineRequest",
    "JobControl",
    "RenderedFile",
    "VideoClip",
    "create_engine",
    "engine_names",
    "register_engine",
]
