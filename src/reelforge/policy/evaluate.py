"""Measure the prompt policy on labelled prompts: ``python -m reelforge.policy.evaluate FILE...``.

Each file is JSONL, one ``{"text": ..., "expected": category or null}`` a line. Prints the share
of should-block prompts that were refused (any category), the share of benign prompts refused,
precision and recall per category, how many refusals each layer made (lexicon, semantic) per
category, and every miss, so a lexicon or threshold change can be judged in numbers.
``--semantic off|auto|on`` picks the layers (default auto: semantic when installed).
"""

from __future__ import annotations

import argparse
import json
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from reelforge.policy.decision import PROMPT_CATEGORIES
from reelforge.policy.prompts import SEMANTIC_MODES, PromptPolicy

LAYERS = ("lexicon", "semantic")


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
    by_layer: Counter[tuple[str, str]] = field(default_factory=Counter)

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
        decision = policy.check(case.text)
        got = decision.category
        if got is not None:
            report.predicted[got] += 1
            report.by_layer[(layer_of(decision.rule), got)] += 1
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


def layer_of(rule: str | None) -> str:
    """Which layer made a refusal, from its rule id ("violence:semantic:0.97")."""
    return "semantic" if rule and ":semantic:" in rule else "lexicon"


def format_layers(report: EvalReport) -> list[str]:
    lines = [f"{'refusals by layer':<24}{'lexicon':>10}{'semantic':>10}"]
    for category in PROMPT_CATEGORIES:
        lexicon, semantic = (report.by_layer[(layer, category)] for layer in LAYERS)
        if lexicon or semantic:
            lines.append(f"{category:<24}{lexicon:>10}{semantic:>10}")
    totals = [sum(n for (layer, _), n in report.by_layer.items() if layer == x) for x in LAYERS]
    lines.append(f"{'total':<24}{totals[0]:>10}{totals[1]:>10}")
    return lines


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
    lines += format_layers(report)
    lines += [f"  miss: expected={e} got={g}: {t}" for t, e, g in report.misses]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("files", nargs="+", type=Path, help="JSONL files of labelled prompts")
    parser.add_argument("--extra-lexicon-dir", type=Path, default=None)
    parser.add_argument("--semantic", choices=SEMANTIC_MODES, default="auto")
    args = parser.parse_args(argv)
    policy = PromptPolicy.from_settings(
        extra_lexicon_dir=args.extra_lexicon_dir, semantic=args.semantic
    )
    print(f"layers: {', '.join(policy.layers)}")
    everything: list[LabelledPrompt] = []
    for path in args.files:
        cases = load_labelled(path)
        everything += cases
        print(format_report(str(path), evaluate(policy, cases)))
    if len(args.files) > 1:
        print(format_report("all files", evaluate(policy, everything)))


if __name__ == "__main__":
    main()
