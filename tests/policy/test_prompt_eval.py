"""The prompt policy's targets on the labelled prompts in data/ (see README for the split).

prompts_dev.jsonl was written alongside the lexicons. The held-out files were each written
before the policy was first run on them: heldout (the lexicons were then fixed for its misses,
so it is no longer held out), heldout2 and heldout3 (left untouched after their first runs).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from reelforge.policy import PromptPolicy
from reelforge.policy.evaluate import EvalReport, evaluate, format_report, load_labelled

DATA = Path(__file__).parent / "data"
FILES = (
    "prompts_dev.jsonl",
    "prompts_heldout.jsonl",
    "prompts_heldout2.jsonl",
    "prompts_heldout3.jsonl",
)


@pytest.fixture(scope="module")
def report() -> EvalReport:
    cases = [case for name in FILES for case in load_labelled(DATA / name)]
    assert len(cases) >= 300
    return evaluate(PromptPolicy.from_settings(), cases)


def test_at_least_95_percent_of_should_block_prompts_are_refused(report: EvalReport) -> None:
    assert report.recall >= 0.95, format_report("all", report)


def test_at_most_2_percent_of_benign_prompts_are_refused(report: EvalReport) -> None:
    assert report.false_positive_rate <= 0.02, format_report("all", report)


def test_every_category_is_represented_and_mostly_caught(report: EvalReport) -> None:
    from reelforge.policy import PROMPT_CATEGORIES

    for category in PROMPT_CATEGORIES:
        assert report.expected[category] >= 5, category
        assert report.true_positive[category] / report.expected[category] >= 0.7, category


def test_labelled_file_with_unknown_category_is_rejected(tmp_path: Path) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"text": "x", "expected": "violent"}\n')
    with pytest.raises(ValueError, match=r"bad\.jsonl:1: unknown category 'violent'"):
        load_labelled(bad)
