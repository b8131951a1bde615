"""Lexicon files: loading, validating and merging the shipped lists with an operator's own.

One entry a line; ``#`` starts a comment. ``phrase @group[,group]`` means the phrase counts only
when a word of one of those context groups (``context_<group>.txt``) is near it: that is how
risky single words ("prince", "madonna", "thor") are kept from blocking ordinary prompts.
An operator's extra directory may hold files with the shipped names (their entries are added)
and ``allowlist.txt`` (phrases that cancel any hit lying inside them).
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from reelforge.domain.errors import ConfigError
from reelforge.policy.normalize import normalise, squeeze, tokens

ALLOWLIST_FILE = "allowlist.txt"
CONTEXT_PREFIX = "context_"


@dataclass(frozen=True)
class LexiconEntry:
    """One lexicon line; ``label`` names its file in logs ("people.txt", "extra:people.txt")."""

    source: str
    label: str
    line: int
    contexts: tuple[str, ...] = ()


@dataclass(frozen=True)
class LexiconPhrase:
    """A parsed entry with the token forms it is matched in."""

    entry: LexiconEntry
    forms: tuple[tuple[str, ...], ...]


def shipped_data_dir() -> Path:
    """The lexicons that ship inside the package."""
    return Path(str(resources.files("reelforge.policy") / "data"))


def load_lexicons(extra_dir: Path | None = None) -> list[LexiconPhrase]:
    """Every phrase of the shipped lexicons and of ``extra_dir``; ConfigError on a bad file."""
    shipped = shipped_data_dir()
    known = {path.name for path in shipped.glob("*.txt")}
    phrases: list[LexiconPhrase] = []
    for path in sorted(shipped.glob("*.txt")):
        phrases.extend(_read_file(path, label=path.name))
    if extra_dir is not None:
        phrases.extend(_read_extra_dir(extra_dir, known))
    _check_context_groups(phrases)
    return phrases


def _read_extra_dir(extra_dir: Path, known: set[str]) -> list[LexiconPhrase]:
    if not extra_dir.is_dir():
        raise ConfigError(
            f"extra lexicon directory {extra_dir} does not exist; create it or unset the setting"
        )
    phrases: list[LexiconPhrase] = []
    for path in sorted(extra_dir.glob("*.txt")):
        if path.name not in known and not path.name.startswith(CONTEXT_PREFIX):
            raise ConfigError(
                f"unknown lexicon file {path}; extra lexicon files must use a shipped name "
                f"({', '.join(sorted(known))}) or context_<group>.txt"
            )
        phrases.extend(_read_file(path, label=f"extra:{path.name}"))
    return phrases


def _read_file(path: Path, label: str) -> list[LexiconPhrase]:
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(
            f"cannot read lexicon file {path}: {exc}; it must be readable UTF-8 text"
        ) from None
    phrases = []
    for number, raw in enumerate(lines, start=1):
        text = raw.split("#", 1)[0].strip()
        if text:
            phrases.append(_parse_line(text, path, label, number))
    return phrases


def _parse_line(text: str, path: Path, label: str, number: int) -> LexiconPhrase:
    phrase, _, context_part = text.partition(" @")
    contexts = tuple(part.strip() for part in context_part.split(",") if part.strip())
    forms = phrase_forms(phrase)
    if not forms:
        raise ConfigError(
            f"{path}:{number}: entry {phrase!r} has no letters or digits; fix or delete the line"
        )
    entry = LexiconEntry(source=path.name, label=label, line=number, contexts=contexts)
    return LexiconPhrase(entry=entry, forms=forms)


def phrase_forms(phrase: str) -> tuple[tuple[str, ...], ...]:
    """Token forms of a phrase: as written, squeezed, and de-spaced ("spider man" -> spiderman)."""
    normalised = normalise(phrase)
    forms: list[tuple[str, ...]] = []
    for variant in (tokens(normalised), tokens(squeeze(normalised))):
        if variant and tuple(variant) not in forms:
            forms.append(tuple(variant))
    if forms and len(forms[0]) > 1:
        compact = ("".join(forms[0]),)
        # Short joined forms ("the rock" -> "therock" is fine, "a b" is not) would collide
        # with ordinary words.
        if len(compact[0]) >= 6 and compact not in forms:
            forms.append(compact)
    return tuple(forms)


def _check_context_groups(phrases: list[LexiconPhrase]) -> None:
    groups = {
        p.entry.source.removeprefix(CONTEXT_PREFIX).removesuffix(".txt")
        for p in phrases
        if p.entry.source.startswith(CONTEXT_PREFIX)
    }
    for phrase in phrases:
        missing = [group for group in phrase.entry.contexts if group not in groups]
        if missing:
            raise ConfigError(
                f"{phrase.entry.label}:{phrase.entry.line}: unknown context group "
                f"{', '.join(missing)}; known groups: {', '.join(sorted(groups))}"
            )


def context_source(group: str) -> str:
    """The file name whose entries make up a context group."""
    return f"{CONTEXT_PREFIX}{group}.txt"
