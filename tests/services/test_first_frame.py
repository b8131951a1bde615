"""First-frame intake: data: URLs, http(s) URLs and uploaded bytes, good and bad."""

from __future__ import annotations

import base64
import io
from collections.abc import Iterator

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

from reelforge.domain.errors import SpecError
from reelforge.net.fetch import ImageFetcher
from reelforge.services.first_frame import (
    FirstFrame,
    decode_data_url,
    first_frame_from_bytes,
    resolve_first_frame,
)
from tests.support.image_cases import (
    BAD_IMAGE_CASES,
    BadImageCase,
    ImageServer,
    data_url,
    make_image,
)

WIDTH, HEIGHT = 64, 36


@pytest.fixture(scope="module")
def server() -> Iterator[ImageServer]:
    with ImageServer() as running:
        yield running


@pytest.fixture(scope="module")
def fetcher(server: ImageServer) -> Iterator[ImageFetcher]:
    with ImageFetcher(allow_hosts=frozenset({server.authority})) as built:
        yield built


def refusal(
    source: str, fetcher: ImageFetcher | None = None, size: tuple[int, int] = (WIDTH, HEIGHT)
) -> str:
    with pytest.raises(SpecError) as caught:
        resolve_first_frame(source, *size, fetcher=fetcher)
    assert caught.value.field == "image"
    return str(caught.value)


def assert_is_frame(frame: FirstFrame, width: int, height: int) -> None:
    assert frame.rgb.shape == (height, width, 3) and frame.rgb.dtype == np.uint8
    with Image.open(io.BytesIO(frame.png)) as stored:
        assert stored.format == "PNG" and stored.size == (width, height)
        assert np.array_equal(np.asarray(stored.convert("RGB")), frame.rgb)


@pytest.mark.parametrize(
    ("media_type", "fmt"), [("image/png", "PNG"), ("image/jpeg", "JPEG"), ("image/webp", "WEBP")]
)
def test_data_url_of_each_accepted_type(media_type: str, fmt: str) -> None:
    frame = resolve_first_frame(data_url(media_type, make_image(fmt, WIDTH, HEIGHT)), WIDTH, HEIGHT)
    assert_is_frame(frame, WIDTH, HEIGHT)


def test_url_image_is_fetched_and_decoded(server: ImageServer, fetcher: ImageFetcher) -> None:
    url = server.image("/ok.jpg", make_image("JPEG", WIDTH, HEIGHT), "application/octet-stream")
    assert_is_frame(resolve_first_frame(url, WIDTH, HEIGHT, fetcher=fetcher), WIDTH, HEIGHT)


def test_without_a_fetcher_only_public_urls_are_allowed(server: ImageServer) -> None:
    url = server.image("/ok.png", make_image("PNG", WIDTH, HEIGHT))
    assert "port" in refusal(url)
    assert "127.0.0.1 is loopback" in refusal("http://127.0.0.1/ok.png")


def test_uploaded_bytes() -> None:
    assert_is_frame(
        first_frame_from_bytes(make_image("PNG", WIDTH, HEIGHT), WIDTH, HEIGHT), WIDTH, HEIGHT
    )
    with pytest.raises(SpecError, match="image is empty"):
        first_frame_from_bytes(b"", WIDTH, HEIGHT)
    with pytest.raises(SpecError, match="the limit is 100 bytes"):
        first_frame_from_bytes(make_image("PNG", WIDTH, HEIGHT), WIDTH, HEIGHT, max_bytes=100)


def test_wrong_size_names_both_sizes() -> None:
    message = refusal(data_url("image/png", make_image("PNG", 640, 360)), size=(1280, 720))
    assert "image is 640x360; size 1280x720 needs a 1280x720 image" in message


def test_oversized_data_url_is_refused_before_decoding(monkeypatch: pytest.MonkeyPatch) -> None:
    def must_not_decode(*_args: object, **_kwargs: object) -> bytes:
        raise AssertionError("decoded an oversized payload")

    monkeypatch.setattr(base64, "b64decode", must_not_decode)
    too_long = "data:image/png;base64," + "A" * (4 * (10 * 1024 * 1024 // 3 + 1) + 4)
    assert "the limit is 10 MB" in refusal(too_long)


def test_data_url_limit_follows_the_fetcher() -> None:
    with ImageFetcher(max_bytes=10) as small:
        # 16 base64 characters pass the length pre-check (<= 4 * ceil(10 / 3)) but decode to
        # 12 bytes: only the check after decoding catches them.
        assert "the limit is" in refusal("data:image/png;base64," + "iVBORw0KGgoAAAAA", small)
        assert "the limit is" in refusal("data:image/png;base64," + "A" * 20, small)


def test_decode_data_url_checks_the_declared_type() -> None:
    png = make_image("PNG", 4, 4)
    assert decode_data_url(data_url("image/png", png)) == png
    with pytest.raises(SpecError, match="declared as image/webp but the bytes are PNG"):
        decode_data_url(data_url("image/webp", png))
    with pytest.raises(SpecError, match="bytes are of an unknown type"):
        decode_data_url(data_url("image/jpeg", b"hello world"))


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("data:image/PNG;base64,AAAA", "write it in lower case"),
        ("DATA:image/png;base64,AAAA", "write it in lower case"),
        ("data:text/plain;base64,AAAA", "text/plain is not accepted"),
        ("data:;base64,AAAA", "an empty type is not accepted"),
        ("data:image/png;charset=utf-8;base64,AAAA", "must start with data:image/"),
        ("data:image/svg+xml;base64,AAAA", "image/svg+xml is not accepted"),
        ("not a url", "image URL contains spaces"),
        ("", "without a scheme"),
    ],
)
def test_malformed_sources_say_what_is_accepted(source: str, expected: str) -> None:
    message = refusal(source)
    assert expected in message
    if source.startswith("data:"):
        assert "data:image/jpeg;base64,..." in message


@pytest.mark.parametrize("case", BAD_IMAGE_CASES, ids=lambda case: case.name)
def test_shared_bad_image_cases(
    case: BadImageCase, server: ImageServer, fetcher: ImageFetcher
) -> None:
    source = case.build(server, WIDTH, HEIGHT)
    assert case.message(WIDTH, HEIGHT) in refusal(source, fetcher)


def _no_dns(host: str, _port: int) -> list[str]:
    raise OSError(-2, f"no DNS in this test ({host})")


@settings(max_examples=300, deadline=None)
@given(
    st.text(max_size=100)
    | st.builds(
        lambda kind, body: f"data:image/{kind};base64,{body}",
        st.sampled_from(["png", "jpeg", "webp"]),
        st.text(max_size=60),
    )
    | st.builds(
        lambda kind, raw: data_url(f"image/{kind}", raw),
        st.sampled_from(["png", "jpeg", "webp"]),
        st.binary(max_size=200),
    )
)
def test_any_source_is_vetted_or_refused_with_a_spec_error(source: str) -> None:
    with ImageFetcher(resolver=_no_dns) as offline:
        try:
            resolve_first_frame(source, WIDTH, HEIGHT, fetcher=offline)
        except SpecError as exc:
            assert exc.field == "image" and str(exc)


@pytest.mark.parametrize("fmt", ["PNG", "JPEG"])
def test_a_photo_is_decoded_once_and_encoded_once_and_a_face_is_still_refused(
    fmt: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The admission path of a 1280x720 photo: one Pillow decode, one PNG encode (OpenCV's), and
    the face check on the decoded pixels (no second decode) still refuses a face."""
    pytest.importorskip("skimage", reason="scikit-image provides the face photo")
    from reelforge.policy import FacePolicy
    from tests.policy.images import paste, sample

    photo = io.BytesIO()
    Image.fromarray(paste(sample("astronaut"))).save(photo, fmt, quality=95)
    media_type = "png" if fmt == "PNG" else "jpeg"
    source = f"data:image/{media_type};base64," + base64.b64encode(photo.getvalue()).decode()
    import reelforge.media.images as images

    opened, saved = (
        count_calls(monkeypatch, Image, "open"),
        count_calls(monkeypatch, images.cv2, "imencode"),
    )

    frame = resolve_first_frame(source, 1280, 720)
    decision = FacePolicy().check(frame.rgb)

    assert (len(opened), len(saved)) == (1, 1)
    assert_is_frame(frame, 1280, 720)
    assert not decision.allowed and decision.category == "face"


def count_calls(monkeypatch: pytest.MonkeyPatch, owner: object, name: str) -> list[object]:
    """Record each call of ``owner.name`` while still running the real function."""
    calls: list[object] = []
    real = getattr(owner, name)

    def counted(*args: object, **kwargs: object) -> object:
        calls.append(args)
        return real(*args, **kwargs)

    monkeypatch.setattr(owner, name, counted)
    return calls
