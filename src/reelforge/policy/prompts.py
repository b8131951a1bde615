"""PromptPolicy: refuse prompts that break the seed's content restrictions (offline, best-effort).

Built once from the shipped lexicons (``data/``) plus an operator's extra directory, then reused:
``check`` only reads the compiled tries, so one instance is safe to share between threads.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path

from reelforge.domain.errors import ConfigError
from reelforge.policy.decision import ALLOWED, PROMPT_CATEGORIES, PolicyDecision, refusal
from reelforge.policy.lexicon import LexiconEntry, load_lexicons
from reelforge.policy.matcher import Hit, PhraseMatcher
from reelforge.policy.normalize import prompt_views
from reelforge.policy.rules import RULES, Rule, ViewHits

# "a 12 year old", "12-year-old", "12yo", "aged 9": ages under 18 are words for a minor.
_AGE = re.compile(
    r"\b(\d{1,2})\s*-?\s*(?:years?|yrs?|y\.?o\.?|yo)\b(?:\s*-?\s*old)?|\baged?\s+(\d{1,2})\b"
)
_AGE_ENTRY = LexiconEntry(source="minors.txt", label="age-pattern", line=0)
_ADULT_AGE = 18


class PromptPolicy:
    """The prompt half of the content policy."""

    def __init__(self, matcher: PhraseMatcher, rules: Iterable[Rule]) -> None:
        self._matcher = matcher
        self._rules = tuple(rules)

    @classmethod
    def from_settings(
        cls, extra_lexicon_dir: Path | None = None, disabled: Iterable[str] = ()
    ) -> PromptPolicy:
        """Compile the lexicons; ``disabled`` names categories that are never refused."""
        disabled_set = set(disabled)
        unknown = disabled_set - set(PROMPT_CATEGORIES)
        if unknown:
            raise ConfigError(
                f"unknown content policy categories {', '.join(sorted(unknown))}; "
                f"valid: {', '.join(PROMPT_CATEGORIES)}"
            )
        matcher = PhraseMatcher(load_lexicons(extra_lexicon_dir))
        return cls(matcher, (rule for rule in RULES if rule.category not in disabled_set))

    def check(self, prompt: str) -> PolicyDecision:
        """Allowed, or refused with the most severe category found."""
        if not isinstance(prompt, str):
            raise TypeError(f"prompt must be str, not {type(prompt).__name__}")
        views = self._view_hits(prompt)
        for rule in self._rules:
            for view in views:
                rule_id = rule.fire(view)
                if rule_id is not None:
                    return refusal(rule.category, rule_id)
        return ALLOWED

    def _view_hits(self, prompt: str) -> list[ViewHits]:
        prepared = prompt_views(prompt)
        views = [self._matcher.scan(view) for view in prepared.token_views]
        for run in set(prepared.letter_runs):
            views.append(self._matcher.scan(self._matcher.split_letter_run(run)))
        views[0].extend(_minor_ages(prepared.normalised))
        return [ViewHits(hits) for hits in views if hits]


def _minor_ages(normalised: str) -> list[Hit]:
    """Age mentions under 18 as hits on the minors list (position 0: the pair rule that reads
    them looks at the whole prompt)."""
    hits = []
    for match in _AGE.finditer(normalised):
        age = int(match.group(1) or match.group(2))
        if age < _ADULT_AGE:
            hits.append(Hit(0, 0, _AGE_ENTRY))
            break
    return hits
