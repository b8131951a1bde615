"""Prompt guidance: which of the five elements of an effective prompt a prompt names.

The seed's "effective prompting" asks for shot type, subject, action, setting and lighting
("Wide shot of a child flying a red kite in a grassy park, golden hour sunlight, camera slowly
pans upward."). ``guide(prompt)`` says which of them the prompt names, with the words that
named each, and suggests the missing ones. It is deterministic and instant (word lists in
``prompt_lexicon.py``, no model), so the studio can call it on every pause in typing and the
CLI or any client gets the same answer from ``POST /v1/prompt/guidance``.

It is advice, not a gate: admission never consults it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Final, Literal, get_args

from reelforge.services import prompt_lexicon as lex

Element = Literal["shot_type", "subject", "action", "setting", "lighting"]
ELEMENTS: Final[tuple[Element, ...]] = get_args(Element)
LABELS: Final[dict[Element, str]] = {
    "shot_type": "Shot type",
    "subject": "Subject",
    "action": "Action",
    "setting": "Setting",
    "lighting": "Lighting",
}

_TOKEN = re.compile(r"[a-z0-9']+|[,.;:!?]")
_CAMERA = "camera"
_OF_STOPS: Final = lex.words(
    "in on at with under over near by from into through across along against beside behind "
    "while as and during , . ; : ! ?"
)
_DETERMINERS: Final = lex.words("a an the some two three several many one his her their its")


@dataclass(frozen=True, slots=True)
class ElementReport:
    element: Element
    present: bool
    found: tuple[str, ...]
    """The prompt's words that named the element, in prompt order."""
    suggestion: str | None
    """How to add the element; None when the prompt names it."""

    @property
    def label(self) -> str:
        return LABELS[self.element]


@dataclass(frozen=True, slots=True)
class PromptGuidance:
    elements: tuple[ElementReport, ...]

    @property
    def named(self) -> tuple[Element, ...]:
        return tuple(report.element for report in self.elements if report.present)

    @property
    def missing(self) -> tuple[Element, ...]:
        return tuple(report.element for report in self.elements if not report.present)

    def report(self, element: Element) -> ElementReport:
        return next(report for report in self.elements if report.element == element)


def guide(prompt: str) -> PromptGuidance:
    """What ``prompt`` names of the five elements, and what to add."""
    tokens = tokenize(prompt)
    shots = _phrases(tokens, _SHOT_INDEX)
    camera = _covered(shots)  # "depth of field" is no field, "tracking shot" no action
    found: dict[Element, list[str]] = {
        "shot_type": [text for _, _, text in shots],
        "subject": _subjects(tokens, shots, camera | _covered(_phrases(tokens, _LIGHTING_INDEX))),
        "action": _actions(tokens, camera),
        "setting": [
            text for start, _, text in _phrases(tokens, _SETTING_INDEX) if start not in camera
        ],
        "lighting": _lighting(tokens),
    }
    return PromptGuidance(tuple(_report(element, found[element]) for element in ELEMENTS))


def tokenize(prompt: str) -> list[str]:
    """Lower-case words and punctuation marks; hyphens fold to spaces (``close-up``)."""
    text = prompt.lower().replace("\u2019", "'").replace("-", " ").replace("_", " ")
    return _TOKEN.findall(text)


def _report(element: Element, words: list[str]) -> ElementReport:
    unique = tuple(dict.fromkeys(words))
    suggestion = None if unique else lex.SUGGESTIONS[element]
    return ElementReport(element, bool(unique), unique, suggestion)


# -- phrase matching -------------------------------------------------------------------------

PhraseIndex = dict[str, list[tuple[str, ...]]]
Match = tuple[int, int, str]
"""(first token, one past the last token, the phrase as written in the list)."""


def _index(phrases: Iterable[str]) -> PhraseIndex:
    """Phrases by first word, longest first, so the longest phrase at a position wins."""
    index: PhraseIndex = {}
    for phrase in phrases:
        words = tuple(tokenize(phrase))
        if words:
            index.setdefault(words[0], []).append(words)
    for candidates in index.values():
        candidates.sort(key=len, reverse=True)
    return index


_SHOT_INDEX: Final = _index(lex.SHOT_PHRASES)
_SETTING_INDEX: Final = _index(lex.SETTING_PHRASES)
_LIGHTING_INDEX: Final = _index(lex.LIGHTING_PHRASES)
_SUBJECT_INDEX: Final = _index(lex.SUBJECT_NOUNS)


def _phrases(tokens: list[str], index: PhraseIndex) -> list[Match]:
    """Non-overlapping whole-word matches, left to right, the longest at each position."""
    matches: list[Match] = []
    position = 0
    while position < len(tokens):
        match = _longest_at(tokens, position, index)
        if match is None:
            position += 1
            continue
        matches.append((position, position + len(match), " ".join(match)))
        position += len(match)
    return matches


def _longest_at(tokens: list[str], position: int, index: PhraseIndex) -> tuple[str, ...] | None:
    for words in index.get(tokens[position], ()):
        if tuple(tokens[position : position + len(words)]) == words:
            return words
    return None


def _covered(matches: list[Match]) -> set[int]:
    return {position for start, end, _ in matches for position in range(start, end)}


# -- the elements that need more than a list ------------------------------------------------


def _lighting(tokens: list[str]) -> list[str]:
    """Lighting phrases, except a shade or a weight (light blue, light rain, dark hair)."""
    found = []
    for _, end, text in _phrases(tokens, _LIGHTING_INDEX):
        following = tokens[end] if end < len(tokens) else ""
        if text in ("light", "dark") and following in lex.NOT_LIGHT_AFTER:
            continue
        found.append(text)
    return found


def _subjects(tokens: list[str], shots: list[Match], taken: set[int]) -> list[str]:
    """Listed subject nouns, and what a shot is "of" (``close-up of an antique typewriter``)
    when that is not a place or a light. ``taken``: words that are part of a shot or light
    phrase ("birds eye view" shows no birds, "lantern lit" no lantern)."""
    found = [text for start, _, text in _phrases(tokens, _SUBJECT_INDEX) if start not in taken]
    for _, end, text in shots:
        start = end if text == "shot of" else end + 1
        if start == end or (end < len(tokens) and tokens[end] == "of"):
            focus = _focus_from(tokens, start)
            if focus:
                found.append(focus)
    return found


def _focus_from(tokens: list[str], start: int) -> str | None:
    """The noun phrase at ``start`` (after ``... of``), up to a preposition, a verb or
    punctuation; None when it is a listed subject already, a place or a light."""
    words: list[str] = []
    for position in range(start, len(tokens)):
        token = tokens[position]
        if token in _OF_STOPS or len(words) == 4 or _is_action(tokens, position):
            break
        if token not in _DETERMINERS:
            words.append(token)
    named = (_SUBJECT_INDEX, _SETTING_INDEX, _LIGHTING_INDEX)
    if not words or any(_phrases(words, index) for index in named):
        return None
    return " ".join(words)


def _verb_forms(verbs: Iterable[str]) -> frozenset[str]:
    """Third-person forms (runs, pours, flies, splashes) of ``verbs``."""
    forms = set()
    for verb in verbs:
        if verb.endswith(("s", "sh", "ch", "x", "z", "o")):
            forms.add(verb + "es")
        elif verb.endswith("y") and verb[-2:-1] not in "aeiou":
            forms.add(verb[:-1] + "ies")
        else:
            forms.add(verb + "s")
    return frozenset(forms - lex.NOUN_LIKE_VERB_FORMS)


_THIRD_PERSON: Final = _verb_forms(lex.ACTION_VERBS)
_PLURAL_SUBJECTS: Final = frozenset(
    noun for noun in lex.SUBJECT_NOUNS if noun.endswith("s") or noun in ("they", "people", "men")
)


def _actions(tokens: list[str], camera_words: set[int]) -> list[str]:
    """Verbs of what happens: -ing forms, third-person forms, and base forms after a plural
    subject (``two dogs chase``). What the camera does is shot type, not action."""
    return [
        token
        for position, token in enumerate(tokens)
        if position not in camera_words
        and not _after_camera(tokens, position)
        and _is_action(tokens, position)
    ]


def _is_action(tokens: list[str], position: int) -> bool:
    token = tokens[position]
    following = tokens[position + 1] if position + 1 < len(tokens) else ""
    if token.endswith("ing") and len(token) >= 5:
        if token in lex.ING_PREPOSITIONS:
            return False
        if token in lex.NOT_ACTION_ING:
            # A noun-like -ing word with an object is a verb: "building a sandcastle",
            # "being stacked".
            return following in _DETERMINERS or (token == "being" and following.endswith("ed"))
        return following not in lex.ING_COMPOUND_NOUNS
    if token in _THIRD_PERSON:
        return True
    previous = tokens[position - 1] if position > 0 else ""
    return token in lex.ACTION_VERBS and (previous in _PLURAL_SUBJECTS or previous == "to")


def _after_camera(tokens: list[str], position: int) -> bool:
    """``camera pans``, ``camera slowly follows``: the subject of the verb is the camera."""
    for back in _before(tokens, position, 2):
        if back == _CAMERA:
            return True
        if not back.endswith("ly"):
            return False
    return False


def _before(tokens: list[str], position: int, count: int) -> Iterator[str]:
    for index in range(position - 1, max(position - 1 - count, -1), -1):
        yield tokens[index]
