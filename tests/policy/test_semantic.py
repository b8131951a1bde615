"""The semantic layer: the head's arithmetic always; the model itself where the policy-ml extra
is installed (the tests that need it are skipped otherwise)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest

from reelforge.policy import PromptPolicy
from reelforge.policy.semantic import BENIGN, LinearHead, head_path
from tests.support.policy_ml import needs_policy_ml, require_policy_ml


def toy_head(threshold: float = 0.5) -> LinearHead:
    # Two-dimensional "embeddings": x leans benign, y leans violence.
    weights = np.array([[4.0, 0.0], [0.0, 4.0], [0.0, 3.0]], dtype=np.float32)
    return LinearHead(weights, np.zeros(3), [BENIGN, "violence", "hate"], threshold)


def test_head_refuses_above_threshold_with_most_likely_category() -> None:
    verdicts = toy_head().verdicts(np.array([[1.0, 0.0], [0.0, 1.0]], dtype=np.float32))
    assert verdicts[0].category is None
    assert verdicts[0].risk < 0.5
    assert verdicts[1].category == "violence"


def test_head_never_reports_a_disabled_category() -> None:
    row = np.array([[0.0, 1.0]], dtype=np.float32)
    assert toy_head().verdicts(row, frozenset({"violence"}))[0].category == "hate"


def test_head_round_trips_through_npz(tmp_path: Path) -> None:
    path = tmp_path / "head.npz"
    toy_head(threshold=0.8).save(path, strength=np.array(2.0))
    loaded = LinearHead.load(path)
    assert loaded.classes == [BENIGN, "violence", "hate"]
    assert loaded.threshold == pytest.approx(0.8)
    np.testing.assert_allclose(loaded.weights, toy_head().weights)


def test_shipped_head_covers_every_prompt_category() -> None:
    from reelforge.policy import PROMPT_CATEGORIES

    head = LinearHead.load(head_path())
    assert set(head.classes) == {BENIGN, *PROMPT_CATEGORIES}
    assert 0.5 <= head.threshold < 1.0


@pytest.fixture(scope="module")
def layered() -> PromptPolicy:
    require_policy_ml()  # before the policy: "on" refuses to build without the extra
    return PromptPolicy.from_settings(semantic="on")


@needs_policy_ml
def test_semantic_policy_names_both_layers(layered: PromptPolicy) -> None:
    assert layered.layers == ["lexicon", "semantic"]


@needs_policy_ml
@pytest.mark.parametrize(
    ("prompt", "category"),
    [
        ("a girl opening up the skin of her forearm with a blade", "self-harm"),
        ("a mob chasing a man and beating him for being gay", "hate/threatening"),
    ],
)
def test_semantic_layer_catches_what_the_lexicons_allow(
    layered: PromptPolicy, prompt: str, category: str
) -> None:
    assert layered.check_lexicon(prompt).allowed
    decision = layered.check(prompt)
    assert decision.category == category
    assert decision.rule is not None and ":semantic:" in decision.rule
    # Category-level message only: nothing of the prompt comes back.
    assert "forearm" not in decision.message and "gay" not in decision.message


@needs_policy_ml
@pytest.mark.parametrize(
    "prompt",
    [
        "a chef dicing onions on a wooden board",
        "a family lighting candles for Hanukkah",
        "an original cartoon fox detective solving a mystery",
        "",
    ],
)
def test_semantic_layer_allows_ordinary_prompts(layered: PromptPolicy, prompt: str) -> None:
    assert layered.check(prompt).allowed


@needs_policy_ml
def test_disabled_category_is_never_refused_by_the_semantic_layer() -> None:
    prompt = "a girl opening up the skin of her forearm with a blade"
    policy = PromptPolicy.from_settings(semantic="on", disabled=["self-harm"])
    assert policy.check(prompt).category != "self-harm"


@needs_policy_ml
def test_one_policy_serves_many_threads(layered: PromptPolicy) -> None:
    prompts = ["a mob chasing a man and beating him for being gay", "a calm lake"] * 16
    with ThreadPoolExecutor(max_workers=8) as pool:
        categories = list(pool.map(lambda p: layered.check(p).category, prompts))
    assert categories == ["hate/threatening", None] * 16
