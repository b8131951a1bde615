"""``cors_origins``: origins as a browser sends them in ``Origin``, from the environment's
comma-separated text, a JSON list or a config file's list; anything else fails at start."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from reelforge.core.config import Settings
from reelforge.net.origins import parse_origins


@pytest.mark.parametrize(
    ("value", "origins"),
    [
        ("https://studio.example.com", ["https://studio.example.com"]),
        (
            " https://A.Example.com/ , http://localhost:5173 ",
            ["https://a.example.com", "http://localhost:5173"],
        ),
        (
            '["https://a.example.com", "http://127.0.0.1:8080"]',
            ["https://a.example.com", "http://127.0.0.1:8080"],
        ),
        (
            ["https://a.example.com:443", "http://b.example.com:80"],
            ["https://a.example.com", "http://b.example.com"],
        ),
        ("http://[::1]:3000", ["http://[::1]:3000"]),
        ("*", ["*"]),
        ("", []),
        (" , ", []),
    ],
)
def test_origins_are_written_as_browsers_send_them(value: object, origins: list[str]) -> None:
    assert parse_origins(value) == origins


@pytest.mark.parametrize(
    ("value", "says"),
    [
        ("studio.example.com", "not an origin; write scheme://host[:port]"),
        ("ftp://files.example.com", "not an origin"),
        (
            "https://studio.example.com/app",
            "no path, query or user; use https://studio.example.com",
        ),
        ("https://user@studio.example.com", "use https://studio.example.com"),
        ("https://studio.example.com:99999", "the port is not a number"),
    ],
)
def test_a_value_that_is_not_an_origin_fails_at_start(
    value: str, says: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("REELFORGE_CORS_ORIGINS", value)
    with pytest.raises(ValidationError, match="cors_origins") as error:
        Settings(data_dir=tmp_path)
    assert says in str(error.value)


def test_the_environment_takes_a_comma_separated_list(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("REELFORGE_CORS_ORIGINS", "https://a.example.com,https://b.example.com")
    assert Settings(data_dir=tmp_path).cors_origins == [
        "https://a.example.com",
        "https://b.example.com",
    ]


def test_cors_is_off_by_default(tmp_path: Path) -> None:
    assert Settings(data_dir=tmp_path).cors_origins == []
