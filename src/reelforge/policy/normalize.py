"""Prompt normalisation: turn text into the token sequences the lexicon matcher reads.

A prompt is read in several *views* so that one obfuscation trick does not hide a term:

- the plain view: NFKC, diacritics stripped, look-alike letters folded to Latin from Unicode's
  confusables data (see :mod:`reelforge.policy.confusables`: Armenian "o", small capital "M",
  a word in Cyrillic look-alikes),
  casefolded, split into word tokens ("Spider-Man" -> ``spider man``);
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

from reelforge.policy.confusables import fold_before_nfkc, fold_lookalikes

_TYPOGRAPHIC = (
    ("\u2018", "'"), ("\u2019", "'"), ("\u201c", '"'), ("\u201d", '"'),
    ("\u2013", "-"), ("\u2014", "-"),
)  # fmt: skip
_LEET_COMMON = {
    "0": "o", "3": "e", "4": "a", "5": "s", "7": "t", "8": "b", "9": "g",
    "@": "a", "$": "s", "!": "i", "|": "l", "+": "t", "\u20ac": "e", "\u00a3": "l",
}  # fmt: skip
LeetTables = tuple[dict[int, str], bytes]


def _leet_tables(one: str) -> LeetTables:
    """The leet map with "1" read as ``one``: a str table, and a bytes table for ASCII text."""
    mapping = {**_LEET_COMMON, "1": one}
    ascii_only = {k: v for k, v in mapping.items() if k.isascii()}
    as_bytes = bytes.maketrans("".join(ascii_only).encode(), "".join(ascii_only.values()).encode())
    return str.maketrans(mapping), as_bytes


_LEET_AS_I = _leet_tables("i")
_LEET_AS_L = _leet_tables("l")

_COMBINING_MARKS = re.compile("[\u0300-\u036f\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f]")
_TOKEN = re.compile(r"[^\W_]+")
# Punctuation (or underscores) squeezed between two word characters: "s.w.i.f.t", "n-a-z-i".
_INTRA_WORD_PUNCT = re.compile(r"(?<=[^\W_])(?:[^\w\s]|_)+(?=[^\W_])")
# A leet digit or symbol touching a letter ("k1ll", "n@ked", "ki11"); only then are leet views
# built. The class comes first so the regex engine can skip ahead quickly over long prompts.
_LEET_HINT = re.compile("[0-9@$!|+\u20ac\u00a3](?:[a-z]|(?<=[a-z].))")
_ONE_AS_LETTER = re.compile(r"[a-z]1|1[a-z]")
# Three or more one-character words in a row ("t a y l o r"), read on single-spaced tokens.
_SINGLE_LETTER_RUN = re.compile(r"(?<![^ ])[^\W_](?: [^\W_]){2,}(?![^ ])")

# ASCII fast path: bytes.translate runs in C at memory speed, far faster than regex tokenising.
_ASCII_ALNUM = b"abcdefghijklmnopqrstuvwxyz0123456789"
_ASCII_PUNCT = bytes(range(128)).translate(None, _ASCII_ALNUM + b" \t\n\r\x0b\x0c")
_PUNCT_TO_SPACE = bytes.maketrans(_ASCII_PUNCT, b" " * len(_ASCII_PUNCT))
_ALNUM_TO_X = bytes.maketrans(_ASCII_ALNUM, b"x" * len(_ASCII_ALNUM))
_LEET_SYMBOLS = b"0123456789@$!|+"
_OTHER_PUNCT = bytes(range(128)).translate(None, _ASCII_ALNUM + _LEET_SYMBOLS + b"' \t\n\r\x0b\x0c")
_CHAR_CLASSES = bytes.maketrans(
    b"abcdefghijklmnopqrstuvwxyz" + _LEET_SYMBOLS + _OTHER_PUNCT + b"'\t\n\r\x0b\x0c",
    b"a" * 26 + b"1" * len(_LEET_SYMBOLS) + b"." * len(_OTHER_PUNCT) + b" " * 6,
)
# Leet next to a letter ("k1ll", "4k"), punctuation inside a word ("s.w.i.f.t", "bat-man").
_SPOT_PATTERNS = ("a1", "1a", "a.a", "a..a", "a...a")
_WINDOW_CHARS = 60
_MAX_SPOTS = 64


@dataclass(frozen=True)
class PromptViews:
    """The plain normalised text, its token views (plain view first) and de-spaced letter runs."""

    normalised: str
    token_views: list[list[str]]
    letter_runs: list[str]


def normalise(text: str) -> str:
    """NFKC, diacritics stripped, look-alikes folded to Latin, casefold; punctuation is kept."""
    if text.isascii():
        return text.casefold()  # the fast path (ASCII is its own NFKC): no look-alike table
    text = unicodedata.normalize("NFKC", fold_before_nfkc(text))
    if text.isascii():
        return text.casefold()
    # Typographic quotes and dashes are common in pasted text; str.replace runs at C speed and
    # usually leaves plain ASCII, which keeps the fast path.
    for typographic, plain in _TYPOGRAPHIC:
        text = text.replace(typographic, plain)
    if text.isascii():
        return text.casefold()
    # Marks go first, as in Unicode's skeletons, so Cyrillic yo meets the look-alike table as ie;
    # the fold comes before casefolding: Greek capital mu reads "m", small mu does not.
    text = _COMBINING_MARKS.sub("", unicodedata.normalize("NFD", text))
    text = fold_lookalikes(text).casefold()
    if not text.isascii():  # casefolding can add a mark again ("İ" -> "i̇")
        text = _COMBINING_MARKS.sub("", unicodedata.normalize("NFD", text))
    return unicodedata.normalize("NFC", text)


def tokens(normalised: str) -> list[str]:
    """Word tokens of already normalised text."""
    if normalised.isascii():
        return normalised.encode().translate(_PUNCT_TO_SPACE).decode().split()
    return _TOKEN.findall(normalised)


def squeeze(normalised: str) -> str:
    """Drop punctuation between letters, so "s.w.i.f.t" reads as "swift"."""
    if normalised.isascii():
        return normalised.encode().translate(None, _ASCII_PUNCT).decode()
    return _INTRA_WORD_PUNCT.sub("", normalised)


def prompt_views(prompt: str) -> PromptViews:
    """The plain view of a prompt, plus small views around each obfuscation-looking spot.

    Squeezed and leetspeak views are built only for windows around punctuation inside a word or
    a digit/symbol touching a letter, so a long prompt costs little more than its plain view.
    """
    base = normalise(prompt)
    plain = tokens(base)
    views = [plain]
    runs = _letter_runs(plain)
    for window in _suspicious_windows(base):
        views.append(tokens(squeeze(window)))
        if _LEET_HINT.search(window):
            tables = [_LEET_AS_I, _LEET_AS_L] if _ONE_AS_LETTER.search(window) else [_LEET_AS_I]
            for table in tables:
                leet = _translate(window, table)
                views.append(tokens(squeeze(leet)))
                runs += _letter_runs(tokens(leet))
    return PromptViews(normalised=base, token_views=views, letter_runs=runs)


def _suspicious_windows(base: str) -> list[str]:
    """Pieces of ``base`` (whole words, ~60 characters either side) around obfuscation spots."""
    if not base.isascii():
        return [base]  # rare: read the whole text the slow, general way
    # Letters become "a", digits and leet symbols "1", other punctuation "." (apostrophes and
    # whitespace " "): then a few str.find calls, in C, locate the spots.
    masked = base.encode().translate(_CHAR_CLASSES).decode()
    spots = sorted({i for pattern in _SPOT_PATTERNS for i in _find_all(masked, pattern)})
    if len(spots) > _MAX_SPOTS:
        return [base]  # windows would cover most of the text anyway
    spans: list[list[int]] = []
    for spot in spots:
        start = max(0, base.rfind(" ", 0, max(0, spot - _WINDOW_CHARS)))
        end = base.find(" ", spot + _WINDOW_CHARS)
        end = len(base) if end == -1 else end
        if spans and start <= spans[-1][1]:
            spans[-1][1] = max(spans[-1][1], end)
        else:
            spans.append([start, end])
    return [base[start:end] for start, end in spans]


def _find_all(text: str, pattern: str) -> list[int]:
    found: list[int] = []
    index = text.find(pattern)
    while index != -1 and len(found) <= _MAX_SPOTS:
        found.append(index)
        index = text.find(pattern, index + 1)
    return found


def _translate(text: str, tables: LeetTables) -> str:
    if text.isascii():
        return text.encode().translate(tables[1]).decode()
    return text.translate(tables[0])


def _letter_runs(view: list[str]) -> list[str]:
    """Runs of >= 3 one-character tokens, joined: "t a y l o r" -> "taylor"."""
    padded = f" {' '.join(view)} "
    if not padded.isascii():
        return [run.replace(" ", "") for run in _SINGLE_LETTER_RUN.findall(padded)]
    # Every letter becomes "x" (bytes.translate, C speed); a run is then " x x x" found by find.
    masked = padded.encode().translate(_ALNUM_TO_X).decode()
    runs = []
    start = masked.find(" x x x ")
    while start != -1:
        end = start + 6
        while masked.startswith(" x ", end):
            end += 2
        runs.append(padded[start:end].replace(" ", ""))
        start = masked.find(" x x x ", end)
    return runs
