"""decode_first_frame: the first-frame image rules, one bad input at a time."""

from __future__ import annotations

import io
import struct
import zlib
from collections.abc import Callable

import numpy as np
import pytest
from PIL import Image, PngImagePlugin

from reelforge.domain.errors import SpecError
from reelforge.media import decode_first_frame
from reelforge.media.images import MAX_IMAGE_PIXELS, detect_image_type

W, H = 1280, 720


def encoded(fmt: str, width: int = W, height: int = H, frames: int = 1, **save: object) -> bytes:
    """A real image; ``frames > 1`` makes an animated one."""
    rng = np.random.default_rng(5)
    pictures = [
        Image.fromarray(rng.integers(0, 256, (height, width, 3), dtype=np.uint8), "RGB")
        for _ in range(frames)
    ]
    if frames > 1:
        save.update(save_all=True, append_images=pictures[1:], duration=100)
    buffer = io.BytesIO()
    pictures[0].save(buffer, fmt, **save)
    return buffer.getvalue()


def png_header_only(width: int, height: int) -> bytes:
    """A tiny PNG whose header claims ``width x height``: a decompression bomb's shape."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        crc = zlib.crc32(kind + body)
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", crc)

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    idat = zlib.compress(b"\0" * 64)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")
    )


BAD_INPUTS: list[tuple[str, Callable[[], bytes], str]] = [
    ("gif", lambda: encoded("GIF"), "image is a GIF; send a JPEG, PNG or WebP image"),
    ("bmp", lambda: encoded("BMP"), "image is a BMP; send a JPEG, PNG or WebP image"),
    ("tiff", lambda: encoded("TIFF", 16, 16), "image is a TIFF"),
    ("unknown", lambda: b"hello, this is not an image", "image is of an unknown type"),
    ("empty", lambda: b"", "image is of an unknown type"),
    (
        "wrong_size",
        lambda: encoded("PNG", 640, 360),
        "image is 640x360; size 1280x720 needs a 1280x720 image",
    ),
    (
        "portrait_for_landscape",
        lambda: encoded("JPEG", 720, 1280),
        "image is 720x1280; size 1280x720 needs a 1280x720 image",
    ),
    ("animated_webp", lambda: encoded("WEBP", frames=2), "image is an animated WEBP"),
    ("animated_png", lambda: encoded("PNG", frames=2), "image is an animated PNG"),
    ("truncated_png", lambda: encoded("PNG")[:50_000], "image could not be decoded"),
    ("truncated_jpeg", lambda: encoded("JPEG")[:2_000], "image could not be decoded"),
    (
        "png_garbage_after_magic",
        lambda: b"\x89PNG\r\n\x1a\n" + b"\x00" * 64,
        "could not be decoded",
    ),
    ("over_10_mb", lambda: b"\x89PNG\r\n\x1a\n" + b"\0" * (10 * 2**20), "the limit is 10 MB"),
    (
        "pixel_bomb",
        lambda: png_header_only(40_000, 40_000),
        "more than 3686400 pixels; size 1280x720 needs",
    ),
    ("big_but_not_a_bomb", lambda: png_header_only(3000, 2000), "more than 3686400 pixels"),
]


@pytest.mark.parametrize(
    ("make", "message"), [case[1:] for case in BAD_INPUTS], ids=[case[0] for case in BAD_INPUTS]
)
def test_bad_images_are_refused_with_a_clear_message(
    make: Callable[[], bytes], message: str
) -> None:
    with pytest.raises(SpecError) as caught:
        decode_first_frame(make(), W, H)
    assert message in str(caught.value)
    assert caught.value.field == "image"


def test_pixel_limit_is_restored_after_decoding() -> None:
    before = Image.MAX_IMAGE_PIXELS
    with pytest.raises(SpecError):
        decode_first_frame(png_header_only(40_000, 40_000), W, H)
    assert before == Image.MAX_IMAGE_PIXELS
    assert (before or 2**63) > MAX_IMAGE_PIXELS


@pytest.mark.parametrize("fmt", ["PNG", "JPEG", "WEBP"])
@pytest.mark.parametrize(("width", "height"), [(1280, 720), (720, 1280)])
def test_good_images_decode_to_rgb(fmt: str, width: int, height: int) -> None:
    data = encoded(fmt, width, height)
    pixels, png = decode_first_frame(data, width, height)
    assert pixels.shape == (height, width, 3)
    assert pixels.dtype == np.uint8
    assert detect_image_type(png) == "PNG"
    with Image.open(io.BytesIO(png)) as again:
        assert np.array_equal(np.asarray(again), pixels)
    with Image.open(io.BytesIO(data)) as original:
        assert np.array_equal(np.asarray(original.convert("RGB")), pixels)


def test_metadata_does_not_survive() -> None:
    info = PngImagePlugin.PngInfo()
    info.add_text("Author", "someone@example.com")
    exif = Image.Exif()
    exif[0x010F] = "SecretCam"  # Make
    _, png = decode_first_frame(encoded("PNG", pnginfo=info, exif=exif), W, H)
    with Image.open(io.BytesIO(png)) as image:
        assert "Author" not in image.info
        assert not image.getexif()
    assert b"someone@example.com" not in png and b"SecretCam" not in png


def test_alpha_and_grey_become_rgb() -> None:
    rgba = io.BytesIO()
    Image.new("RGBA", (W, H), (10, 20, 30, 0)).save(rgba, "PNG")
    grey = io.BytesIO()
    Image.new("L", (W, H), 77).save(grey, "JPEG")
    pixels, _ = decode_first_frame(rgba.getvalue(), W, H)
    assert pixels[0, 0].tolist() == [10, 20, 30]
    pixels, _ = decode_first_frame(grey.getvalue(), W, H)
    assert pixels.shape == (H, W, 3)


def test_exif_rotated_photo_is_judged_and_returned_upright() -> None:
    exif = Image.Exif()
    exif[0x0112] = 6  # stored sideways, displayed rotated by 90 degrees
    stored_sideways = encoded("JPEG", H, W, exif=exif)  # 720x1280 stored, 1280x720 shown
    pixels, _ = decode_first_frame(stored_sideways, W, H)
    assert pixels.shape == (H, W, 3)
    with pytest.raises(SpecError, match="image is 1280x720; size 720x1280 needs"):
        decode_first_frame(stored_sideways, H, W)


@pytest.mark.parametrize(
    ("data", "kind"),
    [
        (b"\xff\xd8\xff\xe0", "JPEG"),
        (b"\x89PNG\r\n\x1a\n", "PNG"),
        (b"RIFF\0\0\0\0WEBPVP8 ", "WEBP"),
        (b"GIF89a", "GIF"),
        (b"\0\0\0\x1cftypavif", "AVIF"),
        (b"\0\0\0\x1cftypheic", "HEIC"),
        (b"<svg xmlns=", "SVG"),
        (b"", "unknown"),
    ],
)
def test_detect_image_type_by_magic_bytes(data: bytes, kind: str) -> None:
    assert detect_image_type(data) == kind
