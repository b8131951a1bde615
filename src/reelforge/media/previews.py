"""Still images of a video: a WebP thumbnail and a JPEG spritesheet.

Spritesheet layout (what a scrubbing UI needs to know):
- a grid of ``SPRITE_COLUMNS`` x ``SPRITE_ROWS`` (5 x 5) tiles, read left to right, top to bottom;
- every tile is ``SPRITE_TILE_WIDTH`` (160) px wide and keeps the video's aspect ratio, so
  1280x720 gives 160x90 tiles (an 800x450 sheet) and 720x1280 gives 160x284 (800x1420);
- tile ``k`` shows frame ``floor((k + 0.5) * frame_count / 25)``, the middle of the k-th of 25
  equal slices of the video, i.e. time ``(k + 0.5) * duration / 25``.

The thumbnail is frame ``frame_count // 3`` (past any fade-in, before any ending), scaled so its
longer side is ``THUMBNAIL_LONG_SIDE`` (640) px: 640x360 or 360x640.

Frames are offered one at a time while the video is encoded or decoded; the collector keeps
only the small tiles it needs, never the full frames.
"""

from __future__ import annotations

from pathlib import Path
from typing import Final

from PIL import Image

from reelforge.engines.base import Frame

SPRITE_COLUMNS: Final = 5
SPRITE_ROWS: Final = 5
SPRITE_TILE_WIDTH: Final = 160
THUMBNAIL_LONG_SIDE: Final = 640
THUMBNAIL_WEBP_QUALITY: Final = 82
SPRITESHEET_JPEG_QUALITY: Final = 85


def sprite_frame_indices(frame_count: int) -> list[int]:
    """The frame shown by each tile, in reading order."""
    tiles = SPRITE_COLUMNS * SPRITE_ROWS
    return [int((k + 0.5) * frame_count / tiles) for k in range(tiles)]


def sprite_tile_size(width: int, height: int) -> tuple[int, int]:
    return SPRITE_TILE_WIDTH, max(1, round(SPRITE_TILE_WIDTH * height / width))


def spritesheet_size(width: int, height: int) -> tuple[int, int]:
    tile_w, tile_h = sprite_tile_size(width, height)
    return tile_w * SPRITE_COLUMNS, tile_h * SPRITE_ROWS


def thumbnail_frame_index(frame_count: int) -> int:
    return frame_count // 3


def thumbnail_size(width: int, height: int) -> tuple[int, int]:
    scale = THUMBNAIL_LONG_SIDE / max(width, height)
    return max(1, round(width * scale)), max(1, round(height * scale))


class PreviewCollector:
    """Keeps downscaled copies of the frames the thumbnail and the spritesheet need."""

    def __init__(self, frame_count: int, width: int, height: int) -> None:
        self._width = width
        self._height = height
        self._sprite_indices = sprite_frame_indices(frame_count)
        self._thumbnail_index = thumbnail_frame_index(frame_count)
        self._wanted = {*self._sprite_indices, self._thumbnail_index}
        self._tiles: dict[int, Image.Image] = {}
        self._thumbnail: Image.Image | None = None

    def wants(self, index: int) -> bool:
        return index in self._wanted

    @property
    def last_wanted(self) -> int:
        """No frame after this one is used: a decoder may stop there."""
        return max(self._wanted)

    def offer(self, index: int, frame: Frame | Image.Image) -> None:
        """Look at frame ``index``; cheap when it is not one the previews use."""
        if index not in self._wanted:
            return
        image = frame if isinstance(frame, Image.Image) else Image.fromarray(frame, "RGB")
        if index in self._sprite_indices:
            size = sprite_tile_size(self._width, self._height)
            self._tiles[index] = image.resize(size, Image.Resampling.LANCZOS, reducing_gap=2.0)
        if index == self._thumbnail_index:
            size = thumbnail_size(self._width, self._height)
            self._thumbnail = image.resize(size, Image.Resampling.LANCZOS, reducing_gap=2.0)

    def write(self, thumbnail_path: Path, spritesheet_path: Path) -> None:
        """Save both images; every wanted frame must have been offered."""
        missing = [i for i in self._sprite_indices if i not in self._tiles]
        if self._thumbnail is None or missing:
            raise ValueError(f"preview frames never offered: {missing or [self._thumbnail_index]}")
        self._thumbnail.save(thumbnail_path, "WEBP", quality=THUMBNAIL_WEBP_QUALITY, method=4)
        self._spritesheet().save(
            spritesheet_path, "JPEG", quality=SPRITESHEET_JPEG_QUALITY, optimize=True
        )

    def _spritesheet(self) -> Image.Image:
        tile_w, tile_h = sprite_tile_size(self._width, self._height)
        sheet = Image.new("RGB", spritesheet_size(self._width, self._height))
        for k, index in enumerate(self._sprite_indices):
            row, column = divmod(k, SPRITE_COLUMNS)
            sheet.paste(self._tiles[index], (column * tile_w, row * tile_h))
        return sheet
