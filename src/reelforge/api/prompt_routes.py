"""Help while writing a request, for the studio, the CLI and any client:

- ``POST /v1/prompt/guidance``: which of shot type, subject, action, setting and lighting a
  prompt names, and what to add (``services/prompt_guide.py``; advice only);
- ``POST /v1/prompt/check``: the create's own admission checks (validation, the key's model
  allowlist, content policy) run as a dry run, so a refusal shows before anything is queued.
"""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.concurrency import run_in_threadpool

from reelforge.api.deps import ContextDep, CurrentKey
from reelforge.api.errors import documented
from reelforge.api.schemas.openai import OpenAIError, VideoCreateRequest
from reelforge.api.schemas.prompt import (
    ElementGuidance,
    GuidanceRequest,
    PromptGuidance,
    VideoCheck,
)
from reelforge.services.admission import VideoRequest
from reelforge.services.prompt_guide import guide
from reelforge.services.prompt_lexicon import EXAMPLE

PROMPT_TAG = "Prompt tools"

router = APIRouter(prefix="/v1/prompt", tags=[PROMPT_TAG])
_AUTH = documented(OpenAIError, {401: "Missing, malformed or revoked API key"})


@router.post(
    "/guidance",
    response_model=PromptGuidance,
    responses={**_AUTH, **documented(OpenAIError, {400: "The prompt is too long"})},
    summary="Which elements of an effective prompt a prompt names, and what to add",
    description="Checks a prompt for the five elements of an effective prompt: shot type, "
    "subject, action, setting and lighting. For each it says whether the prompt names it (with "
    "the words that did) and, when it does not, how to add it. Deterministic word lists, no "
    "model: instant, and the same answer every time. Advice only: admission never uses it.",
)
async def prompt_guidance(body: GuidanceRequest, _key: CurrentKey) -> PromptGuidance:
    guidance = await run_in_threadpool(guide, body.prompt)
    return PromptGuidance(
        named=list(guidance.named),
        missing=list(guidance.missing),
        elements=[
            ElementGuidance(
                element=report.element,
                label=report.label,
                present=report.present,
                found=list(report.found),
                suggestion=report.suggestion,
            )
            for report in guidance.elements
        ],
        example=EXAMPLE,
    )


@router.post(
    "/check",
    response_model=VideoCheck,
    responses={
        **_AUTH,
        **documented(
            OpenAIError,
            {
                400: "The create would be refused: invalid parameters, or "
                "`moderation_blocked` (the content policy)",
                403: "The key may not use this model (`model_not_allowed`)",
            },
        ),
    },
    summary="Dry-run a create: would this request pass admission?",
    description="Takes the JSON body of `POST /v1/videos` and runs the checks a create runs "
    "first: validation, the key's model allowlist and the content policy on the prompt. "
    "Answers 200 when they pass, else the same error the create would answer. Nothing is "
    "created, queued or counted as a refusal. Not checked here: the first frame "
    "(`input_reference`, fetched and checked at create), `Idempotency-Key`, and the key's "
    "rate limits and budgets.",
)
async def check_video(body: VideoCreateRequest, key: CurrentKey, context: ContextDep) -> VideoCheck:
    request = VideoRequest(
        prompt=body.prompt,
        model=body.model,
        size=body.size,
        seconds=body.seconds,
        seed=body.seed,
        webhook_url=body.webhook_url,
        surface="openai",
    )
    spec = await run_in_threadpool(context.admission.check, request, key)
    return VideoCheck(model=spec.model, size=spec.size, seconds=str(spec.seconds))
