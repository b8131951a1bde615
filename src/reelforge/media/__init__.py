"""Media: encode/mux MP4 (H.264 + AAC, faststart), thumbnail (webp), spritesheet (jpg), probe.

The worker calls ``render_media``; admission calls ``decode_first_frame``; tests call ``probe``;
engines that receive a finished MP4 from elsewhere pass it through ``conform_video`` first.
"""

from reelforge.media.conform import Conformed, conform_video
from reelforge.media.encode import ENCODE, EncodeSettings
from reelforge.media.images import decode_first_frame
from reelforge.media.probe import ProbeInfo, probe
from reelforge.media.render import MediaFiles, render_media

__all__ = [
    "ENCODE",
    "Conformed",
    "EncodeSettings",
    "MediaFiles",
    "ProbeInfo",
    "conform_video",
    "decode_first_frame",
    "probe",
    "render_media",
]
