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

# Cyrillic and Greek letters that render like Latin ones, and a few Latin letters that NFD does
# not decompose (lower case: casefold runs first). Written as escapes so the source stays ASCII.
_LOOKALIKES = (
    "\u0430\u0432\u0435\u0451\u043a\u043c\u043d\u043e\u0440\u0441\u0442\u0443"
    "\u0445\u0455\u0456\u0457\u0458\u0501\u0261\u04bb\u051b\u051d\u04cf\u044c"
    "\u03b1\u03b2\u03b3\u03b5\u03b7\u03b9\u03ba\u03bd\u03bf\u03c1\u03c4\u03c5"
    "\u03c7\u03c9\u03c2\u03c3\u00f8\u0142\u0111\u0131"
)
_LATIN = "abeekmhopctyxsiijdghqwlbabyenikvoptuxwcooldi"
_HOMOGLYPHS: dict[int, str] = {
    **{ord(lookalike): latin for lookalike, latin in zip(_LOOKALIKES, _LATIN, strict=True)},
    **{0xDF: "ss", 0xE6: "ae", 0x153: "oe"},
}
_LEET_COMMON = {
    "0": "o", "3": "e", "4": "a", "5": "s", "7": "t", "8": "b", "9": "g",
    "@": "a", "$": "s", "!": "i", "|": "l", "+": "t", "\u20ac": "e", "\u00a3": "l",
}  # fmt: skip
_LEET_AS_I = str.maketrans({**_LEET_COMMON, "1": "i"})
_LEET_AS_L = str.maketrans({**_LEET_COMMON, "1": "l"})

_COMBINING_MARKS = re.compile("[\u0300-\u036f\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f]")
_TOKEN = re.compile(r"[^\W_]+")
# Punctuation (or underscores) squeezed between two word characters: "s.w.i.f.t", "n-a-z-i".
_INTRA_WORD_PUNCT = re.compile(r"(?<=[^\W_])(?:[^\w\s]|_)+(?=[^\W_])")
# A digit or leet symbol touching a letter; only then are the leet views worth building.
_LEET_HINT = re.compile("[a-z][0-9@$!|+\u20ac\u00a3]|[0-9@$|\u20ac\u00a3][a-z]")
# Three or more one-letter words in a row ("t a y l o r"), found by regex to stay in C.
_SINGLE_LETTER_RUN = re.compile(r"(?<![^\W_])[^\W_](?:[\W_]+[^\W_](?![^\W_])){2,}")
_NON_WORD = re.compile(r"[\W_]+")


@dataclass(frozen=True)
class PromptViews:
    """The plain normalised text, its token views (plain view first) and de-spaced letter runs."""

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
