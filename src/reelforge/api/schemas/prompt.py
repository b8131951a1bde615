"""Wire objects of the prompt tools: guidance on a prompt, and the dry run of a create."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from reelforge.domain.limits import MAX_PROMPT_CHARS
from reelforge.services.prompt_guide import Element
from reelforge.services.prompt_lexicon import EXAMPLE

_EXAMPLE_PROMPT = "Close-up of a red kite in a grassy park"


class GuidanceRequest(BaseModel):
    """A prompt to analyse."""

    prompt: str = Field(
        max_length=MAX_PROMPT_CHARS,
        description="The prompt as written so far (may be empty).",
        examples=[_EXAMPLE_PROMPT],
    )


class ElementGuidance(BaseModel):
    """One element of an effective prompt: whether the prompt names it, and how to add it."""

    element: Element = Field(description="Which element.", examples=["lighting"])
    label: str = Field(description="Its name in words.", examples=["Lighting"])
    present: bool = Field(description="Whether the prompt names it.", examples=[False])
    found: list[str] = Field(
        description="The prompt's words that named it, in prompt order.", examples=[["park"]]
    )
    suggestion: str | None = Field(
        description="How to add it; null when the prompt names it.",
        examples=["Describe the light and mood: golden hour sunlight, neon at night."],
    )


class PromptGuidance(BaseModel):
    """Which of the five elements of an effective prompt a prompt names, and what to add."""

    object: Literal["prompt.guidance"] = Field(
        default="prompt.guidance",
        description="Always `prompt.guidance`.",
        examples=["prompt.guidance"],
    )
    named: list[Element] = Field(
        description="The elements the prompt names.", examples=[["shot_type", "subject"]]
    )
    missing: list[Element] = Field(
        description="The elements it does not name yet.", examples=[["action", "lighting"]]
    )
    elements: list[ElementGuidance] = Field(
        description="All five, in the order shot type, subject, action, setting, lighting."
    )
    example: str = Field(
        description="A prompt that names all five (the seed's own example).",
        examples=[EXAMPLE],
    )


class VideoCheck(BaseModel):
    """The dry run of a create passed: what the create would make."""

    object: Literal["video.check"] = Field(
        default="video.check", description="Always `video.check`.", examples=["video.check"]
    )
    ok: Literal[True] = Field(
        default=True,
        description="Always true: a request that fails a check gets that error.",
        examples=[True],
    )
    model: str = Field(description="The model the create would use.", examples=["sora-2"])
    size: str = Field(description="Width x height.", examples=["1280x720"])
    seconds: str = Field(description="Length of the video.", examples=["8"])
