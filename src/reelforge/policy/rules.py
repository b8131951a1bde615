"""Which lexicon hits refuse a prompt, and under which category.

Two kinds of rule, listed below in order of severity (the first that fires is reported):

- a *term* rule fires on any hit from one lexicon file;
- a *pair* rule fires when hits from two files occur together, e.g. a word for a minor and a
  sexual word (anywhere in the prompt), or a protected group and a dehumanising word within a few
  tokens. Pairs generalise better to paraphrases than listing every phrase.

A hit whose entry names context groups counts only when a context word is within
``CONTEXT_WINDOW`` tokens; a hit inside an allowlisted phrase does not count at all.
"""

from __future__ import annotations

from bisect import bisect_left
from collections import defaultdict
from dataclasses import dataclass

from reelforge.policy.lexicon import ALLOWLIST_FILE, context_source
from reelforge.policy.matcher import Hit

CONTEXT_WINDOW = 12


class ViewHits:
    """The hits of one view, indexed by lexicon file, with allowlisted spans removed."""

    def __init__(self, hits: list[Hit]) -> None:
        allowed_spans = [(h.start, h.end) for h in hits if h.entry.source == ALLOWLIST_FILE]
        self.by_source: dict[str, list[Hit]] = defaultdict(list)
        for hit in sorted(hits, key=lambda h: (h.start, h.end)):
            if hit.entry.source == ALLOWLIST_FILE or _inside_any(hit, allowed_spans):
                continue
            self.by_source[hit.entry.source].append(hit)

    @classmethod
    def merged(cls, views: list[ViewHits]) -> ViewHits:
        """Every view's standing hits in one index, for rules that ignore positions."""
        union = cls([])
        for view in views:
            for source, hits in view.by_source.items():
                union.by_source[source].extend(hits)
        for hits in union.by_source.values():
            hits.sort(key=lambda h: (h.start, h.end))
        return union

    def counts(self, hit: Hit) -> bool:
        """Whether a hit stands: it needs no context, or a context word is near it."""
        return not hit.entry.contexts or any(
            self._near(context_source(group), hit) for group in hit.entry.contexts
        )

    def _near(self, source: str, hit: Hit) -> bool:
        others = self.by_source.get(source)
        if not others:
            return False
        index = bisect_left(others, (hit.start - CONTEXT_WINDOW,))
        return index < len(others) and others[index].start <= hit.end + CONTEXT_WINDOW

    def standing(self, source: str) -> list[Hit]:
        return [hit for hit in self.by_source.get(source, ()) if self.counts(hit)]


def _inside_any(hit: Hit, spans: list[tuple[int, int]]) -> bool:
    return any(start <= hit.start and hit.end <= end for start, end in spans)


@dataclass(frozen=True)
class TermRule:
    category: str
    source: str

    def fire(self, view: ViewHits) -> str | None:
        """The rule id of the first standing hit, or None."""
        for hit in view.standing(self.source):
            return f"{self.category}:lexicon:{hit.entry.label}:{hit.entry.line}"
        return None


@dataclass(frozen=True)
class PairRule:
    """``window``: most tokens between the two hits (None: anywhere); ``ordered``: first first."""

    category: str
    first: str
    second: str
    window: int | None = None
    ordered: bool = False

    def fire(self, view: ViewHits) -> str | None:
        firsts = view.standing(self.first)
        seconds = view.standing(self.second) if firsts else []
        for a in firsts:
            for b in self._partners(a, seconds):
                return (
                    f"{self.category}:pair:{a.entry.label}:{a.entry.line}"
                    f"+{b.entry.label}:{b.entry.line}"
                )
        return None

    def _partners(self, a: Hit, seconds: list[Hit]) -> list[Hit]:
        if self.window is None:
            return seconds[:1]
        low = a.end if self.ordered else a.start - self.window
        index = bisect_left(seconds, (low,))
        near = []
        for b in seconds[index:]:
            if b.start > a.end + self.window:
                break
            gap = b.start - a.end if b.start >= a.end else a.start - b.end
            if gap <= self.window and b.start != a.start:
                near.append(b)
                break
        return near


Rule = TermRule | PairRule

RULES: tuple[Rule, ...] = (
    TermRule("sexual/minors", "sexual_minors.txt"),
    PairRule("sexual/minors", "minors.txt", "sexual.txt"),
    TermRule("self-harm/instructions", "self_harm_instructions.txt"),
    PairRule("self-harm/instructions", "instruction_markers.txt", "self_harm.txt", 6, True),
    TermRule("self-harm/intent", "self_harm_intent.txt"),
    PairRule("self-harm/intent", "intent_markers.txt", "self_harm.txt", 4, True),
    TermRule("self-harm", "self_harm.txt"),
    PairRule("self-harm", "self_harm_acts.txt", "self_harm_targets.txt", 3, True),
    TermRule("hate/threatening", "hate_threatening.txt"),
    PairRule("hate/threatening", "groups.txt", "threats.txt", 6),
    PairRule("hate/threatening", "group_attacks.txt", "groups.txt", 4, True),
    PairRule("hate/threatening", "groups.txt", "group_attacked.txt", 3, True),
    TermRule("hate", "hate.txt"),
    PairRule("hate", "groups.txt", "dehumanizing.txt", 6),
    TermRule("harassment/threatening", "harassment_threatening.txt"),
    TermRule("harassment", "harassment.txt"),
    TermRule("illicit/violent", "illicit_violent.txt"),
    PairRule("illicit/violent", "instruction_markers.txt", "weapons.txt", 6, True),
    TermRule("illicit", "illicit.txt"),
    PairRule("illicit", "instruction_markers.txt", "drugs.txt", 6, True),
    TermRule("violence/graphic", "violence_graphic.txt"),
    PairRule("violence/graphic", "gore_parts.txt", "gore_acts.txt", 3),
    TermRule("violence", "violence.txt"),
    PairRule("violence", "violent_acts.txt", "persons.txt", 2, True),
    TermRule("sexual", "sexual.txt"),
    TermRule("copyright/music", "songs.txt"),
    TermRule("copyright/music", "music_phrases.txt"),
    PairRule("copyright/music", "music_reuse.txt", "people.txt", 3, True),
    TermRule("real_person", "people.txt"),
    PairRule("real_person", "offices.txt", "nations.txt", 1),
    TermRule("copyright/character", "characters.txt"),
    PairRule("copyright/character", "character_nouns.txt", "studios.txt", 5),
)
