"""``reelforge generate --server URL``: the same command, with the video made by a running
server: submit through its OpenAI surface, follow it live, download the MP4."""

from __future__ import annotations

from pathlib import Path

from rich.text import Text

from reelforge.cli.common import console, fail
from reelforge.cli.remote import connect, download_file, end_unless_completed, follow, wrote
from reelforge.client import ApiError, ClientError, CreateVideo, ReelForgeClient

_OPTION_OF_PARAM = {
    "input_reference": "--image",
    "model": "--model",
    "prompt": "PROMPT",
    "seconds": "--seconds",
    "seed": "--seed",
    "size": "--size",
}


def generate_remote(request: CreateVideo, output: Path, server: str, api_key: str | None) -> None:
    """Submit, follow, download; a refusal, a failure or a cancel ends with one line."""
    with connect(server, api_key) as client:
        video_id = _submit(client, request)
        console.print(f"queued {video_id} on {client.base_url}", highlight=False, markup=False)
        try:
            video = follow(client, video_id)
        except KeyboardInterrupt:
            # The job is the server's now: say how to find it again, or stop it.
            fail(
                f"interrupted; {video_id} keeps running on the server: `reelforge jobs watch "
                f"{video_id}` to follow it, `reelforge jobs cancel {video_id}` to stop it",
                code=130,
            )
        end_unless_completed(video)
        written = download_file(client, video.id, output)
        engine = client.engine()
    wrote(output, written, f", {video.size}, {video.seconds} s, {video.id}, engine {engine}")
    if engine == "testcard":
        _testcard_note()


def _submit(client: ReelForgeClient, request: CreateVideo) -> str:
    try:
        return client.create(request).id
    except ApiError as exc:
        # The server names the field it refused; the user knows it as an option.
        option = _OPTION_OF_PARAM.get(exc.param or "")
        fail(f"{option}: {exc}" if option else str(exc), exc.exit_code)
    except ClientError as exc:
        fail(str(exc), exc.exit_code)


def _testcard_note() -> None:
    console.print(
        Text.assemble(
            ("note: ", "yellow"),
            "the server's testcard engine draws a test pattern; it makes real videos with "
            "REELFORGE_ENGINE=diffusers on a GPU",
        )
    )
