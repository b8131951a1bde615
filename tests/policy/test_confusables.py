"""Look-alike letters from Unicode's confusables data fold to the Latin letters they read as.

The expected readings are worked out here from the package's raw data (classes of confusable
characters, and the Latin letters or digits in each), not from the policy's own tables.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator

import pytest
from confusable_homoglyphs import confusables  # type: ignore[import-untyped]

from reelforge.policy import PromptPolicy
from reelforge.policy.normalize import normalise, prompt_views

_MARKS = re.compile("[\u0300-\u036f]")
_SMALL_CAPITAL = re.compile(r"LATIN LETTER SMALL CAPITAL ([A-Z])")


def _classes() -> Iterator[set[str]]:
    """Groups of characters the data says are confusable with one another."""
    graph: dict[str, set[str]] = {}
    for source, entries in confusables.confusables_data.items():
        for entry in entries:
            a, b = source.strip("\u200e\u200f"), entry["c"].strip("\u200e\u200f")
            graph.setdefault(a, set()).add(b)
            graph.setdefault(b, set()).add(a)
    seen: set[str] = set()
    for start in graph:
        if start not in seen:
            members, stack = {start}, [start]
            while stack:
                for other in graph[stack.pop()] - members:
                    members.add(other)
                    stack.append(other)
            seen |= members
            yield members


def _readings(members: set[str]) -> set[str]:
    """The Latin spellings among a class's members (marks dropped), or its small capital's."""
    readings = set()
    for member in members:
        plain = _MARKS.sub("", unicodedata.normalize("NFD", member))
        if plain.isascii() and plain.isalnum() and len(plain) <= 4:
            readings.add(plain.lower())
            continue
        name = unicodedata.name(member, "") if len(member) == 1 else ""
        if match := _SMALL_CAPITAL.fullmatch(name):
            readings.add(match[1].lower())
    return readings


def _latin_lookalikes() -> list[tuple[str, frozenset[str]]]:
    """Each non-ASCII character of a class that reads as Latin, with the readings allowed.

    The data puts capital I in the class of small l ("Ⅱ" -> "ll"), so "i" and "l" are
    interchangeable in a reading; NFKC's own Latin reading counts too (long s -> "s", not "f").
    """
    found = []
    for members in _classes():
        readings = _readings(members)
        if not any(reading.isalpha() for reading in readings):
            continue  # digits-only classes ("8", "3") and non-Latin ones
        for member in sorted(members):
            # Combining marks are dropped with the diacritics, not folded.
            if len(member) == 1 and not member.isascii() and unicodedata.category(member)[0] != "M":
                compatible = unicodedata.normalize("NFKC", member).lower()
                allowed = readings | ({compatible} if compatible.isascii() else set())
                found.append((member, frozenset(allowed | {r.replace("l", "i") for r in allowed})))
    return found


LATIN_LOOKALIKES = _latin_lookalikes()


def test_the_data_has_the_classes_it_should() -> None:
    lookalikes = dict(LATIN_LOOKALIKES)
    assert len(lookalikes) > 1000
    assert lookalikes["\u0585"] >= {"o"}  # Armenian oh
    assert "m" in lookalikes["\u1d0d"]  # small capital M (its class ends in "ʍ")
    assert "m" in lookalikes["\u043c"]  # Cyrillic em, same class


def test_every_lookalike_in_a_latin_word_folds() -> None:
    """Each look-alike inside a Latin word ("zz?zz") comes out as one of its class's readings."""
    missed = []
    for char, readings in LATIN_LOOKALIKES:
        view = prompt_views(f"zz{char}zz").token_views[0]
        if view not in [[f"zz{reading}zz"] for reading in readings]:
            missed.append(f"U+{ord(char):04X} {unicodedata.name(char, '?')}: {view}")
    assert missed == []


def test_every_lookalike_word_in_a_latin_prompt_folds() -> None:
    """A whole word of look-alikes in an English prompt folds too ("a cat called Міскеу")."""
    missed = []
    for char, readings in LATIN_LOOKALIKES:
        last = normalise(f"a cat called {char}{char}").split()[-1]
        if last not in {reading * 2 for reading in readings}:
            missed.append(f"U+{ord(char):04X} {unicodedata.name(char, '?')}: {last!r}")
    assert missed == []


@pytest.fixture(scope="module")
def policy() -> PromptPolicy:
    return PromptPolicy.from_settings()


@pytest.mark.parametrize(
    "prompt",
    [
        "Mickey M\u0585use in a wheat field",  # Armenian small oh
        "\u1d0dickey Mouse in a wheat field",  # small capital M
        "\u041c\u0456\u0441\u043a\u0435\u0443 Mouse in a wheat field",  # whole word in Cyrillic
        "\U0001f1f2\U0001f1ee\U0001f1e8\U0001f1f0\U0001f1ea\U0001f1fe Mouse",  # regional letters
    ],
)
def test_disguised_names_are_refused(policy: PromptPolicy, prompt: str) -> None:
    decision = policy.check(prompt)
    assert not decision.allowed
    assert decision.category == "copyright/character"


def test_every_lookalike_of_a_letter_in_the_name_is_refused(policy: PromptPolicy) -> None:
    """ "Mickey Mouse" with each look-alike of each of its letters substituted in turn."""
    name = "Mickey Mouse"
    allowed = []
    for char, readings in LATIN_LOOKALIKES:
        # The I/l/1 class is ambiguous: its lower-case strokes read "l" (see test_normalize).
        letters = {reading for reading in readings if len(reading) == 1 and reading.isalpha()}
        if len(letters) != 1:
            continue
        (letter,) = letters
        index = name.lower().find(letter)
        if index == -1:
            continue
        prompt = f"{name[:index]}{char}{name[index + 1 :]} in a wheat field"
        if policy.check(prompt).allowed:
            allowed.append(f"U+{ord(char):04X} {unicodedata.name(char, '?')}: {prompt}")
    assert allowed == []


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # Written in Greek or Russian: kept as written (no letter becomes Latin).
        (
            "\u0388\u03bd\u03b1\u03c2 \u03c3\u03ba\u03cd\u03bb\u03bf\u03c2",
            "\u03b5\u03bd\u03b1\u03c3 \u03c3\u03ba\u03c5\u03bb\u03bf\u03c3",
        ),
        (
            "\u043a\u043e\u0442 \u0438 \u043f\u0451\u0441",
            "\u043a\u043e\u0442 \u0438 \u043f\u0435\u0441",
        ),
        # A word mixing Latin and Cyrillic inside a Russian prompt still folds.
        (
            "\u041ci\u0441key \u0432 \u043b\u0435\u0441\u0443",
            "mickey \u0432 \u043b\u0435\u0441\u0443",
        ),
    ],
)
def test_text_written_in_another_script_keeps_its_letters(text: str, expected: str) -> None:
    assert normalise(text) == expected


@pytest.mark.parametrize(
    "prompt",
    [
        "\u043a\u043e\u0442 \u0441\u0438\u0434\u0438\u0442 \u043d\u0430 \u043e\u043a\u043d\u0435",
        "\u0388\u03bd\u03b1\u03c2 \u03c3\u03ba\u03cd\u03bb\u03bf\u03c2 "
        "\u03c4\u03c1\u03ad\u03c7\u03b5\u03b9",
    ],
)
def test_greek_and_russian_prompts_are_allowed(policy: PromptPolicy, prompt: str) -> None:
    assert policy.check(prompt).allowed
