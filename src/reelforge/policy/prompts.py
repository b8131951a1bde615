"""PromptPolicy: refuse prompts that break the seed's content restrictions (offline, best-effort).

Built once from the shipped lexicons (``data/``) plus an operator's extra directory, then reused:
``check`` only reads the compiled tries, so one instance is safe to share between threads.

Two layers, in order: the lexicons (fast, explainable, always on), then, for prompts the
lexicons allow, the optional semantic layer (``semantic.py``), which catches paraphrase.
``layers`` names the active ones.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from reelforge.domain.errors import ConfigError
from reelforge.policy.confusables import lookalike_tables
from reelforge.policy.decision import ALLOWED, PROMPT_CATEGORIES, PolicyDecision, refusal
from reelforge.policy.lexicon import LexiconEntry, LexiconPhrase, load_lexicons, phrase_forms
from reelforge.policy.matcher import PhraseMatcher
from reelforge.policy.normalize import prompt_views
from reelforge.policy.rules import RULES, PairRule, Rule, ViewHits
from reelforge.policy.semantic import SemanticLayer, semantic_available

_ADULT_AGE = 18
# "a 12 year old", "12-year-old", "12yo", "12 y/o", "aged 9": ages under 18 are words for a
# minor. They join the minors list as generated phrases, so no extra pass over the prompt.
_AGE_FORMS = ("{} year old", "{} years old", "{} yo", "{}yo", "{} y o", "{} yr old", "aged {}")
# "off": lexicons only; "auto": add the semantic layer when the policy-ml extra is installed;
# "on": require it (ConfigError when it is missing).
SEMANTIC_MODES = ("off", "auto", "on")


class PromptPolicy:
    """The prompt half of the content policy."""

    def __init__(
        self, matcher: PhraseMatcher, rules: Iterable[Rule], semantic: SemanticLayer | None = None
    ) -> None:
        self._matcher = matcher
        self._rules = tuple(rules)
        self._semantic = semantic

    @property
    def layers(self) -> list[str]:
        """The active layers, in the order they run (for readiness and logs)."""
        return ["lexicon", "semantic"] if self._semantic else ["lexicon"]

    @classmethod
    def from_settings(
        cls,
        extra_lexicon_dir: Path | None = None,
        disabled: Iterable[str] = (),
        semantic: str = "off",
    ) -> PromptPolicy:
        """Compile the lexicons; ``disabled`` names categories that are never refused;
        ``semantic`` is one of ``SEMANTIC_MODES`` (the model itself loads on first use)."""
        disabled_set = set(disabled)
        unknown = disabled_set - set(PROMPT_CATEGORIES)
        if unknown:
            raise ConfigError(
                f"unknown content policy categories {', '.join(sorted(unknown))}; "
                f"valid: {', '.join(PROMPT_CATEGORIES)}"
            )
        matcher = PhraseMatcher([*load_lexicons(extra_lexicon_dir), *_age_phrases()])
        rules = (rule for rule in RULES if rule.category not in disabled_set)
        return cls(matcher, rules, _semantic_layer(semantic, frozenset(disabled_set)))

    def warm(self) -> None:
        """Build the look-alike tables and load the semantic model now (at start-up), so the
        first request does not pay for them."""
        lookalike_tables()
        if self._semantic:
            self._semantic.warm()

    def check(self, prompt: str) -> PolicyDecision:
        """Allowed, or refused with the most severe category found."""
        decision = self.check_lexicon(prompt)
        if decision.allowed and self._semantic and prompt.strip():
            verdict = self._semantic.classify(prompt)
            if verdict.category is not None:
                return refusal(verdict.category, f"{verdict.category}:semantic:{verdict.risk:.2f}")
        return decision

    def check_lexicon(self, prompt: str) -> PolicyDecision:
        """The lexicon layer alone."""
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


def _semantic_layer(mode: str, disabled: frozenset[str]) -> SemanticLayer | None:
    if mode not in SEMANTIC_MODES:
        raise ConfigError(
            f"unknown semantic policy mode {mode!r}; valid: {', '.join(SEMANTIC_MODES)}"
        )
    if mode == "off":
        return None
    if not semantic_available():
        if mode == "on":
            raise ConfigError(
                "the semantic content policy layer needs the policy-ml extra: "
                "pip install 'reelforge[policy-ml]' (or set the mode to auto or off)"
            )
        return None
    return SemanticLayer(disabled=disabled)


def _age_phrases() -> list[LexiconPhrase]:
    entry = LexiconEntry(source="minors.txt", label="age-pattern", line=0)
    return [
        LexiconPhrase(entry=entry, forms=phrase_forms(form.format(age)))
        for age in range(_ADULT_AGE)
        for form in _AGE_FORMS
    ]
