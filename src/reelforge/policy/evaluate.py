"""Measure the prompt policy on labelled prompts: ``python -m reelforge.policy.evaluate FILE...``.

Each file is JSONL, one ``{"text": ..., "expected": category or null}`` a line. Prints the share
of should-block prompts that were refused (any category), the share of benign prompts refused,
precision and recall per category, and every miss, so a lexicon change can be judged in numbers.
"""

from __future__ import annotations

import argparse
import json
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from reelforge.policy.decision import PROMPT_CATEGORIES
from reelforge.policy.prompts import PromptPolicy


@dataclass(frozen=True)
class LabelledPrompt:
    text: str
    expected: str | None


@dataclass
class EvalReport:
    """Counts from one run; ``misses`` lists (text, expected, got) for every wrong decision."""

    blocked_total: int = 0
    blocked_caught: int = 0
    benign_total: int = 0
    benign_refused: int = 0
    true_positive: Counter[str] = field(default_factory=Counter)
    predicted: Counter[str] = field(default_factory=Counter)
    expected: Counter[str] = field(default_factory=Counter)
    misses: list[tuple[str, str | None, str | None]] = field(default_factory=list)

    @property
    def recall(self) -> float:
        return self.blocked_caught / self.blocked_total if self.blocked_total else 1.0

    @property
    def false_positive_rate(self) -> float:
        return self.benign_refused / self.benign_total if self.benign_total else 0.0


def load_labelled(path: Path) -> list[LabelledPrompt]:
    """Read a JSONL file of labelled prompts; ValueError names the bad line."""
    cases = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        record = json.loads(line)
        expected = record.get("expected")
        if expected is not None and expected not in PROMPT_CATEGORIES:
            raise ValueError(f"{path}:{number}: unknown category {expected!r}")
        cases.append(LabelledPrompt(text=record["text"], expected=expected))
    return cases


def evaluate(policy: PromptPolicy, cases: list[LabelledPrompt]) -> EvalReport:
    report = EvalReport()
    for case in cases:
        got = policy.check(case.text).category
        if got is not None:
            report.predicted[got] += 1
        if case.expected is None:
            report.benign_total += 1
            report.benign_refused += got is not None
        else:
            report.expected[case.expected] += 1
            report.blocked_total += 1
            report.blocked_caught += got is not None
            report.true_positive[case.expected] += got == case.expected
        if got != case.expected:
            report.misses.append((case.text, case.expected, got))
    return report


def format_report(name: str, report: EvalReport) -> str:
    lines = [
        f"== {name}",
        f"should-block prompts refused: {report.blocked_caught}/{report.blocked_total} "
        f"({report.recall:.1%})",
        f"benign prompts refused:       {report.benign_refused}/{report.benign_total} "
        f"({report.false_positive_rate:.1%})",
        f"{'category':<24}{'precision':>10}{'recall':>10}{'n':>5}",
    ]
    for category in PROMPT_CATEGORIES:
        tp, pred, exp = (
            c[category] for c in (report.true_positive, report.predicted, report.expected)
        )
        if pred or exp:
            precision = f"{tp / pred:.0%}" if pred else "-"
            recall = f"{tp / exp:.0%}" if exp else "-"
            lines.append(f"{category:<24}{precision:>10}{recall:>10}{exp:>5}")
    lines += [f"  miss: expected={e} got={g}: {t}" for t, e, g in report.misses]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("files", nargs="+", type=Path, help="JSONL files of labelled prompts")
    parser.add_argument("--extra-lexicon-dir", type=Path, default=None)
    args = parser.parse_args(argv)
    policy = PromptPolicy.from_settings(extra_lexicon_dir=args.extra_lexicon_dir)
    everything: list[LabelledPrompt] = []
    for path in args.files:
        cases = load_labelled(path)
        everything += cases
        print(format_report(str(path), evaluate(policy, cases)))
    if len(args.files) > 1:
        print(format_report("all files", evaluate(policy, everything)))


if __name__ == "__main__":
    main()
