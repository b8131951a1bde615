"""Where each job's files live in the blob store: the only module that builds or parses a key.

```
inputs/<job id>/first_frame.png                  the vetted first frame (admission writes it)
jobs/<job id>/<lease token>/video.mp4            one attempt's outputs (the worker writes them)
jobs/<job id>/<lease token>/thumbnail.webp
jobs/<job id>/<lease token>/spritesheet.jpg
```

Outputs go under a per-attempt prefix so a zombie attempt can never overwrite the winner's
files; inputs live apart from ``jobs/<id>``, which the winning attempt prunes.
"""

from __future__ import annotations

from typing import Final

from reelforge.domain.jobs import JobOutputs

INPUTS: Final = "inputs"
JOBS: Final = "jobs"
FIRST_FRAME: Final = "first_frame.png"
VIDEO: Final = "video.mp4"
THUMBNAIL: Final = "thumbnail.webp"
SPRITESHEET: Final = "spritesheet.jpg"


def input_prefix(job_id: str) -> str:
    """Everything a request brought for the job (its first frame)."""
    return f"{INPUTS}/{job_id}"


def first_frame_key(job_id: str) -> str:
    return f"{input_prefix(job_id)}/{FIRST_FRAME}"


def outputs_prefix(job_id: str) -> str:
    """Every attempt's outputs of the job."""
    return f"{JOBS}/{job_id}"


def attempt_prefix(job_id: str, lease_token: str) -> str:
    """One attempt's outputs."""
    return f"{outputs_prefix(job_id)}/{lease_token}"


def attempt_outputs(job_id: str, lease_token: str) -> JobOutputs:
    prefix = attempt_prefix(job_id, lease_token)
    return JobOutputs(f"{prefix}/{VIDEO}", f"{prefix}/{THUMBNAIL}", f"{prefix}/{SPRITESHEET}")


def job_prefixes(job_id: str) -> tuple[str, str]:
    """Every prefix holding the job's files: delete these and nothing of the job is left."""
    return outputs_prefix(job_id), input_prefix(job_id)


def attempt_of(key: str) -> str | None:
    """The attempt prefix an output key belongs to, or None for a key outside ``jobs/``."""
    parts = key.split("/")
    if len(parts) < 4 or parts[0] != JOBS:
        return None
    return "/".join(parts[:3])
