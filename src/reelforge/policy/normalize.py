"""Prompt normalisation: turn text into the token sequences the lexicon matcher reads.

A prompt is read in several *views* so that one obfuscation trick does not hide a term:

- the plain view: NFKC, Cyrillic/Greek look-alikes mapped to Latin, casefolded, diacritics
  stripped, split into word tokens ("Spider-Man" -> ``spider man``);
- a squeezed view: punctuation between letters removed ("s.w.i.f.t" -> ``swift``,
  "Spider-Man" -> ``spiderman``, "schindler's" -> ``schindlers``);
- leetspeak views, only when digits or symbols touch letters ("k1ll" -> ``kill``), once with
  ``1 -> i`` and once with ``1 -> l`` because both are common;
- runs of three or more single-letter tokens ("t a y l o r  s w i f t") joined into one string,
  which the matcher searches for de-spaced lexicon entries.

Lexicon entries go through :func:`normalise` and :func:`tokens` too, so both sides agree.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

# Cyrillic and Greek letters that render like Latin ones (lower case; casefold runs first).
_HOMOGLYPHS = str.maketrans(
    {
        "а": "a", "в": "b", "е": "e", "ё": "e", "к": "k", "м": "m", "н": "h", "о": "o",
        "р": "p", "с": "c", "т": "t", "у": "y", "х": "x", "ѕ": "s", "і": "i", "ї": "i",
        "ј": "j", "ԁ": "d", "ɡ": "g", "һ": "h", "ԛ": "q", "ԝ": "w", "ӏ": "l", "ь": "b",
        "α": "a", "β": "b", "γ": "y", "ε": "e", "η": "n", "ι": "i", "κ": "k", "ν": "v",
        "ο": "o", "ρ": "p", "τ": "t", "υ": "u", "χ": "x", "ω": "w", "ς": "c", "σ": "o",
        "ß": "ss", "ø": "o", "æ": "ae", "œ": "oe", "ł": "l", "đ": "d", "ı": "i",
    }  # fmt: skip
)
_LEET_COMMON = {
    "0": "o", "3": "e", "4": "a", "5": "s", "7": "t", "8": "b", "9": "g",
    "@": "a", "$": "s", "!": "i", "|": "l", "+": "t", "€": "e", "£": "l",
}  # fmt: skip
_LEET_AS_I = str.maketrans({**_LEET_COMMON, "1": "i"})
_LEET_AS_L = str.maketrans({**_LEET_COMMON, "1": "l"})

_COMBINING_MARKS = re.compile("[\u0300-\u036f\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f]")
_TOKEN = re.compile(r"[^\W_]+")
# Punctuation (or underscores) squeezed between two word characters: "s.w.i.f.t", "n-a-z-i".
_INTRA_WORD_PUNCT = re.compile(r"(?<=[^\W_])(?:[^\w\s]|_)+(?=[^\W_])")
# A digit or leet symbol touching a letter; only then are the leet views worth building.
_LEET_HINT = re.compile(r"[a-z][0-9@$!|+€£]|[0-9@$|€£][a-z]")
# Three or more one-letter words in a row ("t a y l o r"), found by regex to stay in C.
_SINGLE_LETTER_RUN = re.compile(r"(?<![^\W_])[^\W_](?:[\W_]+[^\W_](?![^\W_])){2,}")
_NON_WORD = re.compile(r"[\W_]+")


@dataclass(frozen=True)
class PromptViews:
    """``normalised``: the plain text; ``token_views``: token lists, plain view first; ``letter_runs``: de-spaced letter runs."""

    normalised: str
    token_views: list[list[str]]
    letter_runs: list[str]


def normalise(text: str) -> str:
    """NFKC, homoglyphs to Latin, casefold, diacritics stripped; punctuation is kept."""
    text = unicodedata.normalize("NFKC", text).casefold()
    if text.isascii():
        return text
    text = text.translate(_HOMOGLYPHS)
    decomposed = unicodedata.normalize("NFD", text)
    return unicodedata.normalize("NFC", _COMBINING_MARKS.sub("", decomposed))


def tokens(normalised: str) -> list[str]:
    """Word tokens of already normalised text."""
    return _TOKEN.findall(normalised)


def squeeze(normalised: str) -> str:
    """Drop punctuation between letters, so "s.w.i.f.t" reads as "swift"."""
    return _INTRA_WORD_PUNCT.sub("", normalised)


def prompt_views(prompt: str) -> PromptViews:
    """The distinct token sequences one prompt is matched in (the plain view first)."""
    base = normalise(prompt)
    texts = [base]
    if _LEET_HINT.search(base):
        texts.append(base.translate(_LEET_AS_I))
        if "1" in base:
            texts.append(base.translate(_LEET_AS_L))
    views: list[list[str]] = []
    runs: list[str] = []
    seen: set[str] = set()
    for text in texts:
        runs.extend(_NON_WORD.sub("", run) for run in _SINGLE_LETTER_RUN.findall(text))
        for variant in (text, squeeze(text)):
            if variant not in seen:
                seen.add(variant)
                views.append(tokens(variant))
    return PromptViews(normalised=base, token_views=views, letter_runs=runs)
