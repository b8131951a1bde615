"""PromptPolicy: refuse prompts that break the seed's content restrictions (offline, best-effort).

Built once from the shipped lexicons (``data/``) plus an operator's extra directory, then reused:
``check`` only reads the compiled tries, so one instance is safe to share between threads.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from reelforge.domain.errors import ConfigError
from reelforge.policy.decision import ALLOWED, PROMPT_CATEGORIES, PolicyDecision, refusal
from reelforge.policy.lexicon import LexiconEntry, LexiconPhrase, load_lexicons, phrase_forms
from reelforge.policy.matcher import PhraseMatcher
from reelforge.policy.normalize import prompt_views
from reelforge.policy.rules import RULES, PairRule, Rule, ViewHits

_ADULT_AGE = 18
# "a 12 year old", "12-year-old", "12yo", "12 y/o", "aged 9": ages under 18 are words for a
# minor. They join the minors list as generated phrases, so no extra pass over the prompt.
_AGE_FORMS = ("{} year old", "{} years old", "{} yo", "{}yo", "{} y o", "{} yr old", "aged {}")


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
        matcher = PhraseMatcher([*load_lexicons(extra_lexicon_dir), *_age_phrases()])
        return cls(matcher, (rule for rule in RULES if rule.category not in disabled_set))

    def check(self, prompt: str) -> PolicyDecision:
        """Allowed, or refused with the most severe category found."""
        if not isinstance(prompt, str):
            raise TypeError(f"prompt must be str, not {type(prompt).__name__}")
        views = self._view_hits(prompt)
        # Whole-prompt pairs may join hits from different views ("a 12 year old n@ked").
        union = ViewHits.merged(views) if len(views) > 1 else None
        for rule in self._rules:
            whole_prompt = isinstance(rule, PairRule) and rule.window is None
            for view in [union] if whole_prompt and union else views:
                rule_id = rule.fire(view)
                if rule_id is not None:
                    return refusal(rule.category, rule_id)
        return ALLOWED

    def _view_hits(self, prompt: str) -> list[ViewHits]:
        prepared = prompt_views(prompt)
        views = [self._matcher.scan(view) for view in prepared.token_views]
        for run in set(prepared.letter_runs):
            views.append(self._matcher.scan(self._matcher.split_letter_run(run)))
        return [ViewHits(hits) for hits in views if hits]


def _age_phrases() -> list[LexiconPhrase]:
    entry = LexiconEntry(source="minors.txt", label="age-pattern", line=0)
    return [
        LexiconPhrase(entry=entry, forms=phrase_forms(form.format(age)))
        for age in range(_ADULT_AGE)
        for form in _AGE_FORMS
    ]
