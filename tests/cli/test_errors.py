"""Every command-line mistake ends with one ``error:`` line and exit code 2, never a traceback;
most cases run in this process, a few through ``python -m reelforge.cli`` as a user runs it."""

from __future__ import annotations

import socket
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import typer

from reelforge import __version__
from reelforge.cli.common import fail, print_error
from tests.support.cli import run_main, run_subprocess

GPU_HINT = "install the gpu extra: pip install 'reelforge[gpu]'"


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    return {"REELFORGE_DATA_DIR": str(tmp_path / "data")}


def _missing(tmp_path: Path) -> Path:
    return tmp_path / "missing.png"


def _directory(tmp_path: Path) -> Path:
    return tmp_path


def _under_a_file(tmp_path: Path) -> Path:
    (tmp_path / "a-file").write_text("not a directory")
    return tmp_path / "a-file" / "frame.png"


IMAGE_MISTAKES = [
    pytest.param(_missing, "does not exist", id="missing"),
    pytest.param(_directory, "is a directory", id="directory"),
    pytest.param(_under_a_file, "cannot be read (Not a directory)", id="path-through-a-file"),
]


@pytest.mark.parametrize(("make_path", "fragment"), IMAGE_MISTAKES)
def test_an_image_path_that_cannot_be_read_is_one_line(
    make_path: Callable[[Path], Path], fragment: str, tmp_path: Path, env: dict[str, str]
) -> None:
    path = make_path(tmp_path)
    outcome = run_main("generate", "a boat", "--image", str(path), env=env)
    outcome.assert_one_error_line(f"--image {path}", fragment)


@pytest.fixture
def unreadable(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A file whose opening fails with EACCES (chmod is no use when tests run as root)."""
    path = tmp_path / "secret.png"
    path.write_bytes(b"\x89PNG")
    real_open = Path.open

    def deny(self: Path, *args: Any, **kwargs: Any) -> Any:
        if self == path:
            raise PermissionError(13, "Permission denied", str(self))
        return real_open(self, *args, **kwargs)

    monkeypatch.setattr(Path, "open", deny)
    yield path


def test_an_unreadable_image_is_one_line(unreadable: Path, env: dict[str, str]) -> None:
    outcome = run_main("generate", "a boat", "--image", str(unreadable), env=env)
    outcome.assert_one_error_line(f"--image {unreadable} cannot be read (Permission denied)")


def test_an_output_path_that_is_a_directory_is_refused_before_any_work(
    tmp_path: Path, env: dict[str, str]
) -> None:
    outcome = run_main("generate", "a boat", "-o", str(tmp_path), env=env)
    outcome.assert_one_error_line(f"-o {tmp_path} is a directory")
    assert not (tmp_path / "data").exists()


@pytest.mark.parametrize("command", [["generate", "a boat"], ["worker"], ["keys", "list"]])
def test_an_unsupported_database_url_is_one_line(command: list[str], env: dict[str, str]) -> None:
    env["REELFORGE_DATABASE_URL"] = "mysql://reel@db.example/forge"
    outcome = run_main(*command, env=env)
    outcome.assert_one_error_line("REELFORGE_DATABASE_URL", "scheme 'mysql' is not supported")


@pytest.mark.parametrize("command", [["generate", "a boat"], ["worker"]])
def test_a_heartbeat_not_shorter_than_the_lease_is_one_line(
    command: list[str], env: dict[str, str]
) -> None:
    env.update(REELFORGE_HEARTBEAT_SECONDS="30", REELFORGE_LEASE_SECONDS="30")
    outcome = run_main(*command, env=env)
    outcome.assert_one_error_line("heartbeat_seconds (30) must be less than lease_seconds (30)")


@pytest.mark.parametrize("port", ["99999", "0", "-1", "http"])
def test_a_bad_port_is_one_line_and_creates_nothing(
    port: str, tmp_path: Path, env: dict[str, str]
) -> None:
    outcome = run_main("serve", "--port", port, env=env)
    outcome.assert_one_error_line("--port", "reelforge serve --help")
    assert not (tmp_path / "data").exists()


def test_a_port_in_use_is_one_line_and_creates_nothing(tmp_path: Path, env: dict[str, str]) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        outcome = run_main("serve", "--port", str(port), env=env)
    outcome.assert_one_error_line(f"cannot listen on 127.0.0.1:{port}", "pick a free --port")
    assert not (tmp_path / "data").exists()


def test_an_unknown_option_is_one_line(env: dict[str, str]) -> None:
    outcome = run_main("generate", "a boat", "--sedd", "3", env=env)
    outcome.assert_one_error_line("--sedd", "reelforge generate --help")


def test_version_prints_the_version() -> None:
    outcome = run_main("--version")
    assert (outcome.code, outcome.stdout, outcome.stderr) == (0, f"reelforge {__version__}\n", "")


def test_square_brackets_in_an_error_are_printed(capsys: pytest.CaptureFixture[str]) -> None:
    print_error(GPU_HINT)
    with pytest.raises(typer.Exit) as exit_info:
        fail(GPU_HINT, code=1)
    assert exit_info.value.exit_code == 1
    assert capsys.readouterr().err == f"error: {GPU_HINT}\n" * 2


def test_models_pull_without_the_gpu_extra_names_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "huggingface_hub", None)  # its import fails
    outcome = run_main("models", "pull", "ltx2")
    assert outcome.code == 1
    assert outcome.error_lines == [f"error: huggingface_hub is missing; {GPU_HINT}"]


# -- the same mistakes through the installed command -------------------------------------------


def test_a_missing_image_is_one_line_in_a_real_process(tmp_path: Path, env: dict[str, str]) -> None:
    outcome = run_subprocess("generate", "a boat", "--image", "/missing.png", env=env, timeout=60)
    outcome.assert_one_error_line("--image /missing.png does not exist")


def test_a_mysql_url_is_one_line_in_a_real_process(env: dict[str, str]) -> None:
    env["REELFORGE_DATABASE_URL"] = "mysql://reel@db.example/forge"
    outcome = run_subprocess("generate", "a boat", env=env, timeout=60)
    outcome.assert_one_error_line("scheme 'mysql' is not supported")


def test_a_bad_port_creates_nothing_in_a_real_process(tmp_path: Path, env: dict[str, str]) -> None:
    outcome = run_subprocess("serve", "--port", "99999", env=env, timeout=60)
    outcome.assert_one_error_line("--port", "65535")
    assert not (tmp_path / "data").exists()
