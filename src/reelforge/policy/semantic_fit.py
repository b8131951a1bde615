"""Fit the semantic layer's head: ``python -m reelforge.policy.semantic_fit [EXTRA.jsonl ...]``.

Training data: ``semantic_data/exemplars.jsonl`` (hand-written for this layer: per-category
paraphrases of what the lexicons list, such as described characters, self-harm and gore in
ordinary words, calls to violence against groups, office-holders instead of names; and benign
near misses such as original characters, generic musicians, cooking knives, anatomy lessons,
religious celebrations) plus any labelled JSONL files given (the repository fits with
``tests/policy/data/prompts_dev.jsonl``; the held-out files are never used here).

Each prompt falls in one of five folds by the CRC32 of its text. For each fold a head is fitted
on the other four and scores the fold, so every prompt gets an out-of-fold risk: the refusal
threshold is the lowest that keeps out-of-fold false positives at or under ``--max-fpr``, and
out-of-fold recall per category is printed (that is this layer's own held-out figure). The head
is then refitted on every prompt with the same settings and written to
``semantic_data/head.npz``.
Needs the ``policy-ml`` extra and scikit-learn (installed with sentence-transformers).
"""

from __future__ import annotations

import argparse
import importlib
import zlib
from collections import Counter
from pathlib import Path

import numpy as np

from reelforge.policy.evaluate import LabelledPrompt, load_labelled
from reelforge.policy.semantic import BENIGN, LinearHead, SentenceEncoder, head_path

EXEMPLARS = head_path().parent / "exemplars.jsonl"
FOLDS = 5
# A floor under the threshold: a head that separates its calibration split perfectly would
# otherwise refuse anything only slightly unusual.
MIN_THRESHOLD = 0.5


def fold_of(text: str) -> int:
    return zlib.crc32(text.encode("utf-8")) % FOLDS


def label_of(case: LabelledPrompt) -> str:
    return case.expected or BENIGN


def fit_head(embeddings: np.ndarray, labels: list[str], strength: float) -> LinearHead:
    # scikit-learn comes with sentence-transformers; it is needed here only, not at run time.
    linear_model = importlib.import_module("sklearn.linear_model")
    model = linear_model.LogisticRegression(C=strength, class_weight="balanced", max_iter=5000)
    model.fit(embeddings, labels)
    classes = [str(c) for c in model.classes_]
    return LinearHead(model.coef_, model.intercept_, classes, threshold=MIN_THRESHOLD)


def out_of_fold_risks(
    embeddings: np.ndarray, labels: list[str], folds: np.ndarray, strength: float
) -> np.ndarray:
    """Each prompt's risk from a head fitted without its fold."""
    risks = np.zeros(len(labels))
    for fold in range(FOLDS):
        held = folds == fold
        head = fit_head(
            embeddings[~held], [lb for lb, h in zip(labels, held, strict=True) if not h], strength
        )
        risks[held] = [v.risk for v in head.verdicts(embeddings[held])]
    return risks


def pick_threshold(benign_risks: np.ndarray, max_fpr: float) -> float:
    """The lowest threshold at which at most ``max_fpr`` of the benign prompts are refused."""
    risks = np.sort(benign_risks)[::-1]
    allowed_refusals = int(max_fpr * len(risks))
    above = risks[allowed_refusals] if allowed_refusals < len(risks) else 0.0
    return max(MIN_THRESHOLD, float(above) + 1e-3)


def report(risks: np.ndarray, labels: list[str], threshold: float) -> str:
    caught: Counter[str] = Counter()
    total: Counter[str] = Counter()
    false_positives = 0
    for risk, label in zip(risks, labels, strict=True):
        total[label] += 1
        if label == BENIGN:
            false_positives += bool(risk >= threshold)
        else:
            caught[label] += bool(risk >= threshold)
    refusable = sum(n for label, n in total.items() if label != BENIGN)
    lines = [
        f"out-of-fold: recall {sum(caught.values())}/{refusable}, "
        f"false positives {false_positives}/{total[BENIGN]}, threshold {threshold:.3f}"
    ]
    caught[BENIGN] = false_positives
    lines += [f"  {label:<24}{caught[label]}/{n}" for label, n in sorted(total.items())]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("extra", nargs="*", type=Path, help="more labelled JSONL files")
    parser.add_argument("--strength", type=float, default=4.0, help="inverse regularisation C")
    parser.add_argument(
        "--max-fpr", type=float, default=0.01, help="out-of-fold benign refusals allowed"
    )
    parser.add_argument("--output", type=Path, default=head_path())
    args = parser.parse_args(argv)
    cases = load_labelled(EXEMPLARS) + [c for path in args.extra for c in load_labelled(path)]
    texts = [case.text for case in cases]
    labels = [label_of(case) for case in cases]
    embeddings = SentenceEncoder().encode(texts)
    folds = np.array([fold_of(text) for text in texts])
    risks = out_of_fold_risks(embeddings, labels, folds, args.strength)
    threshold = pick_threshold(risks[[label == BENIGN for label in labels]], args.max_fpr)
    print(f"{len(cases)} prompts, {FOLDS} folds")
    print(report(risks, labels, threshold))
    final = fit_head(embeddings, labels, args.strength)
    final.threshold = threshold
    final.save(args.output, strength=np.array(args.strength), prompts=np.array(len(cases)))
    print(f"head written to {args.output}")


if __name__ == "__main__":
    main()
