"""Operators configure the content policy through Settings."""

from __future__ import annotations

from pathlib import Path

import pytest

from reelforge.core.config import Settings
from reelforge.domain.errors import ConfigError
from reelforge.services import build_prompt_policy


def test_defaults_refuse_real_people(tmp_path: Path) -> None:
    policy = build_prompt_policy(Settings(data_dir=tmp_path))
    decision = policy.check("a portrait of Taylor Swift on stage")
    assert not decision.allowed and decision.category == "real_person"


def test_a_disabled_category_is_allowed(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, policy_disabled_categories=["real_person"])
    assert build_prompt_policy(settings).check("a portrait of Taylor Swift on stage").allowed


def test_extra_lexicon_entries_are_refused(tmp_path: Path) -> None:
    extra = tmp_path / "lexicons"
    extra.mkdir()
    (extra / "characters.txt").write_text("# house mascot, trademarked\nCaptain Quasar\n")
    settings = Settings(data_dir=tmp_path, policy_extra_lexicon_dir=extra)
    decision = build_prompt_policy(settings).check("captain quasar flies over a city")
    assert not decision.allowed and decision.category == "copyright/character"


def test_unknown_category_is_a_config_error(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, policy_disabled_categories=["nonsense"])
    with pytest.raises(ConfigError):
        build_prompt_policy(settings)
