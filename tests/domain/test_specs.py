from __future__ import annotations

import pytest

from reelforge.domain.errors import SpecError
from reelforge.domain.specs import GenerationSpec


def test_valid_spec_has_exact_frame_count() -> None:
    spec = GenerationSpec.build("a kite", size="720x1280", seconds="12", seed=5)
    assert (spec.width, spec.height, spec.seconds, spec.frame_count) == (720, 1280, 12, 288)
    assert spec.size == "720x1280"


def test_missing_seed_is_drawn_at_random() -> None:
    seeds = {GenerationSpec.build("a kite").seed for _ in range(5)}
    assert len(seeds) > 1


@pytest.mark.parametrize(
    ("kwargs", "field", "text"),
    [
        ({"prompt": ""}, "prompt", "empty"),
        ({"prompt": "   "}, "prompt", "empty"),
        ({"prompt": "x" * 32001}, "prompt", "32000"),
        ({"size": "1920x1080"}, "size", "1280x720, 720x1280"),
        ({"seconds": 5}, "seconds", "4, 8, 12"),
        ({"seconds": "8.0"}, "seconds", "4, 8, 12"),
        ({"seconds": "eight"}, "seconds", "4, 8, 12"),
        ({"seed": -1}, "seed", "out of range"),
        ({"seed": 2**32}, "seed", "out of range"),
    ],
)
def test_invalid_values_say_what_is_allowed(
    kwargs: dict[str, object], field: str, text: str
) -> None:
    values: dict[str, object] = {"prompt": "a kite", **kwargs}
    with pytest.raises(SpecError, match=text) as caught:
        GenerationSpec.build(**values)  # type: ignore[arg-type]
    assert caught.value.field == field
