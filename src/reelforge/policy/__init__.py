"""Offline content policy (best-effort): prompt lexicons and a face detector for first frames.

The admission layer builds one :class:`PromptPolicy` and one :class:`FacePolicy` at start-up and
calls ``check`` on every request; both are safe to share between threads. Refusals are logged at
INFO with category and rule only (never the prompt). The lexicons in ``data/`` are hand-compiled
samples, not complete lists: this catches the common cases, not a determined adversary.
"""

from reelforge.policy.decision import CATEGORY_MESSAGES, PROMPT_CATEGORIES, PolicyDecision
from reelforge.policy.faces import FacePolicy
from reelforge.policy.prompts import PromptPolicy

__all__ = ["CATEGORY_MESSAGES", "PROMPT_CATEGORIES", "FacePolicy", "PolicyDecision", "PromptPolicy"]
