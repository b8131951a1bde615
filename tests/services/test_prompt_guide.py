"""The prompt guide against a labelled set: for each of the five elements, every prompt is
judged as a person labelled it (``data/prompt_guide_labels.jsonl``; the last 25 lines were
labelled before the guide ever saw them)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from reelforge.services.prompt_guide import ELEMENTS, Element, guide, tokenize
from reelforge.services.prompt_lexicon import EXAMPLE, SUGGESTIONS

LABELS = Path(__file__).parent / "data" / "prompt_guide_labels.jsonl"


def labelled() -> list[dict[str, Any]]:
    rows = [json.loads(line) for line in LABELS.read_text().splitlines() if line.strip()]
    for row in rows:
        assert set(row["names"]) <= set(ELEMENTS), row
    return rows


def test_the_labelled_set_is_large_and_has_both_answers_for_every_element() -> None:
    rows = labelled()
    assert len(rows) >= 60
    assert len({row["prompt"] for row in rows}) == len(rows), "a prompt is labelled twice"
    for element in ELEMENTS:
        named = sum(element in row["names"] for row in rows)
        assert 10 <= named <= len(rows) - 10, (element, named)


@pytest.mark.parametrize("element", ELEMENTS)
def test_each_element_is_found_exactly_where_it_is_labelled(element: Element) -> None:
    wrong = []
    for row in labelled():
        report = guide(row["prompt"]).report(element)
        if report.present != (element in row["names"]):
            wrong.append(f"{row['prompt']!r}: labelled {element in row['names']}, {report}")
    assert not wrong, "\n".join(wrong)


def test_the_seeds_example_names_all_five_with_the_words_that_name_them() -> None:
    guidance = guide(EXAMPLE)
    assert guidance.missing == ()
    assert guidance.report("shot_type").found == ("wide shot", "camera", "pans")
    assert guidance.report("subject").found == ("child", "kite")
    assert guidance.report("action").found == ("flying",)
    assert guidance.report("setting").found == ("grassy", "park")
    assert guidance.report("lighting").found == ("golden hour", "sunlight")


def test_missing_elements_come_with_a_suggestion_and_named_ones_without() -> None:
    guidance = guide("A cat")
    assert guidance.named == ("subject",)
    assert guidance.missing == ("shot_type", "action", "setting", "lighting")
    for report in guidance.elements:
        expected = None if report.present else SUGGESTIONS[report.element]
        assert report.suggestion == expected
        assert report.label


def test_an_empty_or_wordless_prompt_names_nothing() -> None:
    for prompt in ("", "   ", "!!! ... ???", "🎬🎥"):
        assert guide(prompt).named == ()


def test_the_camera_is_shot_type_not_the_subjects_action() -> None:
    camera_only = guide("The camera slowly pans across a quiet forest")
    assert camera_only.report("shot_type").present
    assert not camera_only.report("action").present
    both = guide("The camera follows a horse galloping")
    assert both.report("action").found == ("galloping",)


def test_shades_and_compound_nouns_are_not_mistaken() -> None:
    assert not guide("a light blue dress").report("lighting").present
    assert guide("a light through the blinds").report("lighting").present
    assert not guide("a living room").report("action").present
    assert guide("a woman sitting in a waiting room").report("action").found == ("sitting",)
    assert guide("kids building a sandcastle").report("action").found == ("building",)
    assert not guide("a tall building").report("action").present
    assert not guide("soft depth of field").report("setting").present


def test_spelling_variants_fold_together() -> None:
    for prompt in ("Close-up of a cup", "close up of a cup", "CLOSEUP of a cup", "close_up"):
        assert guide(prompt).report("shot_type").present, prompt
    assert tokenize("Bird\u2019s-eye VIEW, at dusk.") == [
        "bird's",
        "eye",
        "view",
        ",",
        "at",
        "dusk",
        ".",
    ]


def test_the_guide_is_deterministic() -> None:
    prompts = [row["prompt"] for row in labelled()]
    assert [guide(p) for p in prompts] == [guide(p) for p in prompts]
