"""Look-alike letters folded to Latin, from Unicode's confusables data (UTS #39).

The data is Unicode's ``confusables.txt`` and ``Scripts.txt`` as shipped (JSON) by the
``confusable-homoglyphs`` package: nothing is downloaded. ``confusables.txt`` groups characters
into classes that look alike (M, Greek capital mu, Cyrillic capital em, Cherokee lu, ...). A class
folds to the Latin letters or digits among its members ("rn"/"m": a single letter wins; "0"/"O":
a letter beats a digit). Some classes of the data end in a non-ASCII letter although they read
as a Latin one, those of small capitals (``ᴍ``, Cyrillic ``м`` -> "ʍ"), so a class holding
``LATIN LETTER SMALL CAPITAL X`` folds to ``x``. Styled Latin letters that NFKC leaves alone
(small capitals outside the data, regional indicators, negative squared or circled letters) fold
by their names. The "l" class holds capital I too: its upper-case members fold to ``i``.

Which look-alikes fold depends on their script (see :func:`fold_lookalikes`): Latin, Common and
Inherited ones always do; those of another script fold unless the prompt is written in that
script, where only words that mix it with Latin letters are folded. A Greek or Russian prompt
thus keeps its words and cannot turn into English lexicon hits ("кот" would read "kot").

The tables are built on first use (about 0.1 s, loading the package included), so ASCII-only
prompts never pay for them; :func:`lookalike_tables` may be called at start-up to build them.
"""

from __future__ import annotations

import bisect
import functools
import re
import unicodedata
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

# Scripts no language is written in on its own: their look-alikes always fold.
SCRIPT_FREE = frozenset({"LATIN", "COMMON", "INHERITED"})
# Longest Latin reading kept ("ffi", "ae"); longer targets are symbols ("FAX", "Co.").
MAX_READING = 4

_BIDI_MARKS = str.maketrans("", "", "\u200e\u200f")  # the package keeps them around RTL entries
_COMBINING_MARKS = re.compile("[\u0300-\u036f\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f]")
_WORD = re.compile(r"[^\W_]+")
# Styled Latin letters that NFKC leaves as they are: "ᴍ", "Ɪ", "🇲", "🅼", "🅜".
_STYLED_LATIN_NAME = re.compile(
    r"(?:(?:CROSSED )?NEGATIVE (?:SQUARED|CIRCLED) |SQUARED |TORTOISE SHELL BRACKETED )?"
    r"(?:LATIN (?:CAPITAL |SMALL )?LETTER (?:SMALL CAPITAL )?|REGIONAL INDICATOR SYMBOL LETTER )"
    r"([A-Z])"
)
# The blocks that hold them (IPA, phonetic extensions, Latin Extended-D/E/F/G, enclosed letters).
_STYLED_LATIN_BLOCKS = (
    (0x0250, 0x02B0), (0x1D00, 0x1D80), (0xA720, 0xA800), (0xAB30, 0xAB70),
    (0x10780, 0x107C0), (0x1DF00, 0x1E000), (0x1F100, 0x1F200),
)  # fmt: skip
# Readings the data lacks, kept from the hand-made table this replaces: Latin letters with a
# stroke (the data reads them as a letter plus an overlay), dotless i, and Greek and Cyrillic
# letters whose class ends in a non-Latin prototype (Greek "ε" -> "ɛ", "β" -> "ß").
_EXTRA_READINGS = {
    "\u00f8": "o", "\u0142": "l", "\u0111": "d", "\u0131": "i", "\u044c": "b",
    "\u03b2": "b", "\u03b5": "e", "\u03c7": "x", "\u03c9": "w", "\u03c2": "c",
}  # fmt: skip


@dataclass(frozen=True)
class LookalikeTables:
    """Translate tables for look-alikes, and the script patterns that decide where they apply."""

    before_nfkc: dict[int, str]
    """Look-alikes NFKC turns into a letter that reads otherwise (Greek lunate sigma -> sigma)."""
    every: dict[int, str]
    """Every look-alike: the table for prompts not written in another script."""
    always: dict[int, str]
    """Look-alikes of Latin, Common or Inherited script: folded everywhere."""
    by_script: dict[str, dict[int, str]]
    """Look-alikes of each other script ("CYRILLIC", "GREEK", ...)."""
    script_of: dict[str, str]
    """The script of each character in ``by_script``."""
    letters: dict[str, re.Pattern[str]]
    """Any character of a script in ``by_script``."""
    native: dict[str, re.Pattern[str]]
    """A character of that script with no Latin look-alike (Cyrillic "и", Greek "λ")."""
    latin_letter: re.Pattern[str]


@functools.cache
def lookalike_tables() -> LookalikeTables:
    """Build the tables once (first non-ASCII prompt, or start-up)."""
    confusables_data, scripts_data = _package_data()
    readings = {**_class_readings(confusables_data), **_styled_latin_readings(), **_EXTRA_READINGS}
    readings = _with_case_partners(readings)
    ranges = _script_ranges(scripts_data)
    script_at = _ScriptLookup(ranges)
    always: dict[int, str] = {}
    by_script: dict[str, dict[int, str]] = {}
    script_of: dict[str, str] = {}
    for char, reading in readings.items():
        script = script_at(char)
        if script in SCRIPT_FREE:
            always[ord(char)] = reading
        else:
            by_script.setdefault(script, {})[ord(char)] = reading
            script_of[char] = script
    letters = {script: re.compile(_char_class(ranges[script])) for script in by_script}
    native = {
        script: re.compile(f"(?!{_char_class(_singles(table))}){_char_class(ranges[script])}")
        for script, table in by_script.items()
    }
    every = {**always, **{code: r for table in by_script.values() for code, r in table.items()}}
    return LookalikeTables(
        before_nfkc=_changed_by_nfkc(readings, every),
        every=every,
        always=always,
        by_script=by_script,
        script_of=script_of,
        letters=letters,
        native=native,
        latin_letter=re.compile(_char_class(ranges["LATIN"])),
    )


def fold_before_nfkc(text: str) -> str:
    """Fold the few look-alikes NFKC would turn into another letter; run it before NFKC."""
    return text.translate(lookalike_tables().before_nfkc)


def fold_lookalikes(text: str) -> str:
    """Replace look-alikes with the Latin letters they read as; case is left to the caller.

    Expects NFKC text with combining marks removed. Latin/Common look-alikes (small capitals,
    math letters, the dental click) always fold. A look-alike of another script S folds
    everywhere unless the prompt is written in S: some of its letters have no Latin look-alike
    and S has more letters than Latin. Then only words that also hold Latin letters ("Mickey"
    with a Cyrillic "i") are folded.
    """
    tables = lookalike_tables()
    scripts = {script for char in set(text) if (script := tables.script_of.get(char))}
    written_in = {script for script in scripts if _written_in(text, script, tables)}
    if not written_in:
        return text.translate(tables.every)  # the usual case: one translate
    text = text.translate(tables.always)
    for script in scripts - written_in:
        text = text.translate(tables.by_script[script])
    mixed_words = {k: v for script in written_in for k, v in tables.by_script[script].items()}

    def fold_mixed(word: re.Match[str]) -> str:
        if tables.latin_letter.search(word[0]):
            return word[0].translate(mixed_words)
        return word[0]

    return _WORD.sub(fold_mixed, text)


def _written_in(text: str, script: str, tables: LookalikeTables) -> bool:
    if not tables.native[script].search(text):
        return False  # every letter of it reads as Latin: a disguise, not a language
    return len(tables.letters[script].findall(text)) > len(tables.latin_letter.findall(text))


def _changed_by_nfkc(readings: dict[str, str], every: dict[int, str]) -> dict[int, str]:
    """Look-alikes whose NFKC form is neither Latin nor folds back to the same reading."""
    changed: dict[int, str] = {}
    for char, reading in readings.items():
        compatible = unicodedata.normalize("NFKC", char)
        if compatible == char or (compatible.isascii() and compatible.isalnum()):
            continue  # NFKC keeps it, or already reads it as Latin (long s -> "s")
        plain = _COMBINING_MARKS.sub("", unicodedata.normalize("NFD", compatible))
        if plain.translate(every).casefold() != reading:
            changed[ord(char)] = reading
    return changed


def _package_data() -> tuple[dict[str, list[dict[str, str]]], dict[str, Any]]:
    """The package's ``confusables.txt`` (as a graph) and ``Scripts.txt`` (as ranges)."""
    # Imported here, not at the top: the package parses its data (~1 MB of JSON) on import.
    from confusable_homoglyphs import categories, confusables  # type: ignore[import-untyped]

    return confusables.confusables_data, categories.categories_data


class _ScriptLookup:
    """The script of a character, by bisection over the ``Scripts.txt`` ranges."""

    def __init__(self, ranges: dict[str, list[tuple[int, int]]]) -> None:
        spans = sorted(
            (first, last, script) for script, pairs in ranges.items() for first, last in pairs
        )
        self._firsts = [first for first, _, _ in spans]
        self._spans = spans

    def __call__(self, char: str) -> str:
        index = bisect.bisect_right(self._firsts, ord(char)) - 1
        if index >= 0 and self._spans[index][1] >= ord(char):
            return self._spans[index][2]
        return "UNKNOWN"


def _class_readings(data: dict[str, list[dict[str, str]]]) -> dict[str, str]:
    """Each non-ASCII member of a confusables class that reads as Latin, with its reading."""
    graph = _confusables_graph(data)
    readings: dict[str, str] = {}
    for members in _classes(graph):
        spelling = _class_reading(members, graph)
        if spelling is None:
            continue
        for member in members:
            if len(member) == 1 and not member.isascii():
                # The class of "l" holds capital "I" too: its capitals read as I, not L.
                upper_stroke = spelling == "l" and unicodedata.category(member) == "Lu"
                readings[member] = "i" if upper_stroke else spelling.lower()
    return readings


def _confusables_graph(data: dict[str, list[dict[str, str]]]) -> dict[str, set[str]]:
    """Each character with the characters it is confusable with (both ways)."""
    graph: dict[str, set[str]] = {}
    for source, entries in data.items():
        for entry in entries:
            a, b = source.translate(_BIDI_MARKS), entry["c"].translate(_BIDI_MARKS)
            graph.setdefault(a, set()).add(b)
            graph.setdefault(b, set()).add(a)
    return graph


def _classes(graph: dict[str, set[str]]) -> Iterator[set[str]]:
    """Connected groups of the graph: one per prototype of ``confusables.txt``."""
    seen: set[str] = set()
    for start in graph:
        if start in seen:
            continue
        members, stack = {start}, [start]
        while stack:
            for other in graph[stack.pop()] - members:
                members.add(other)
                stack.append(other)
        seen |= members
        yield members


def _class_reading(members: set[str], graph: dict[str, set[str]]) -> str | None:
    """The Latin spelling of a class (case kept): its best ASCII member, else its small capital's
    letter."""
    # A single letter beats a digraph ("m" over "rn") and a digit ("o" over "0"); then the
    # member with most look-alikes, the class's prototype ("l" over "i" in the I/l/1 class).
    scored = [
        (not spelling.isalpha(), len(spelling), -len(graph[member]), spelling)
        for member in members
        if (spelling := _latin_spelling(member))
    ]
    if scored:
        return min(scored)[3]
    for member in members:
        name = unicodedata.name(member, "") if len(member) == 1 else ""
        if match := _STYLED_LATIN_NAME.fullmatch(name):
            return match[1].lower()
    return None


def _latin_spelling(text: str) -> str | None:
    """``text`` as ASCII letters or digits, marks dropped; None when it is not that."""
    # No casefold before the ASCII test: "ß" would read "ss", a spelling, not a look-alike.
    reading = _COMBINING_MARKS.sub("", unicodedata.normalize("NFD", text))
    if reading.isascii() and reading.isalnum() and len(reading) <= MAX_READING:
        return reading
    return None


def _styled_latin_readings() -> dict[str, str]:
    """Styled Latin letters NFKC does not fold, read by their names ("ᴍ" -> "m")."""
    readings: dict[str, str] = {}
    for start, end in _STYLED_LATIN_BLOCKS:
        for char in map(chr, range(start, end)):
            match = _STYLED_LATIN_NAME.fullmatch(unicodedata.name(char, ""))
            if match and not unicodedata.normalize("NFKC", char).isascii():
                readings[char] = match[1].lower()
    return readings


def _with_case_partners(readings: dict[str, str]) -> dict[str, str]:
    """Add the capital form of look-alikes the data lists only in lower case.

    Folding runs before casefolding (Greek capital mu reads "m", small mu does not), so a
    capital whose lower case is a look-alike needs its own entry.
    """
    partners: dict[str, str] = {}
    for char, reading in readings.items():
        for partner in {char.upper(), char.title()}:
            if len(partner) != 1 or partner.isascii() or partner in readings:
                continue
            if partner.lower() == char:
                partners[partner] = reading
    return {**readings, **partners}


def _script_ranges(data: dict[str, Any]) -> dict[str, list[tuple[int, int]]]:
    """Code point ranges of each script, from the package's copy of ``Scripts.txt``."""
    aliases: list[str] = data["iso_15924_aliases"]
    ranges: dict[str, list[tuple[int, int]]] = {}
    for first, last, alias, _category in data["code_points_ranges"]:
        ranges.setdefault(aliases[alias], []).append((first, last))
    return ranges


def _char_class(ranges: Iterable[tuple[int, int]]) -> str:
    parts = (
        re.escape(chr(first))
        if first == last
        else f"{re.escape(chr(first))}-{re.escape(chr(last))}"
        for first, last in ranges
    )
    return f"[{''.join(parts)}]"


def _singles(table: dict[int, str]) -> list[tuple[int, int]]:
    return [(code, code) for code in sorted(table)]
