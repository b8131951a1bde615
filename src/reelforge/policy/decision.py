"""The verdict every policy check returns, and the plain-words messages users see."""

from __future__ import annotations

import logging
from dataclasses import dataclass

log = logging.getLogger("reelforge.policy")

# OpenAI's moderation category names, then what the seed adds (real people, copyrighted
# characters and music, faces in input images). The order is the order of severity: when a
# prompt breaks several rules, the first category here is the one reported.
CATEGORY_MESSAGES: dict[str, str] = {
    "sexual/minors": "prompts may not sexualise minors",
    "self-harm/instructions": "prompts may not ask for or show methods of self-harm or suicide",
    "self-harm/intent": (
        "prompts may not express an intent to self-harm; if you are struggling, please reach "
        "out to someone you trust or a local crisis line"
    ),
    "self-harm": "prompts may not depict self-harm or suicide",
    "hate/threatening": "prompts may not threaten violence against a group of people",
    "hate": "prompts may not attack or demean people for who they are",
    "harassment/threatening": "prompts may not threaten or intimidate a person",
    "harassment": "prompts may not harass, bully or humiliate a person",
    "illicit/violent": "prompts may not show how to make or get weapons or explosives",
    "illicit": "prompts may not depict or explain illegal activity such as making or using drugs",
    "violence/graphic": "prompts may not depict graphic violence or gore",
    "violence": "prompts may not depict violence against people",
    "sexual": "prompts may not include sexual content or nudity (content must suit under-18s)",
    "copyright/music": (
        "prompts may not use copyrighted music or imitate a recording artist's songs"
    ),
    "real_person": "prompts may not depict real people, including public figures",
    "copyright/character": "prompts may not depict copyrighted characters or franchises",
    "face": (
        "input images may not contain human faces, including realistic depictions such as "
        "paintings, statues or 3D renders"
    ),
}

PROMPT_CATEGORIES: tuple[str, ...] = tuple(c for c in CATEGORY_MESSAGES if c != "face")


@dataclass(frozen=True)
class PolicyDecision:
    """``message`` is safe to show users; ``rule`` is for logs only (it names lexicon lines)."""

    allowed: bool
    category: str | None
    rule: str | None
    message: str


ALLOWED = PolicyDecision(allowed=True, category=None, rule=None, message="allowed")


def refusal(category: str, rule: str) -> PolicyDecision:
    """A refusal for ``category``; logs category and rule only, never the prompt or image."""
    log.info("content policy refusal: category=%s rule=%s", category, rule)
    reason = CATEGORY_MESSAGES[category]
    message = (
        f"Refused by the content policy: {reason}. "
        "Change the request and try again (this check is automated and best-effort)."
    )
    return PolicyDecision(allowed=False, category=category, rule=rule, message=message)
