from __future__ import annotations

import pytest

from reelforge.policy.normalize import normalise, prompt_views


def _all_tokens(prompt: str) -> set[str]:
    views = prompt_views(prompt)
    return {token for view in views.token_views for token in view} | set(views.letter_runs)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Beyoncé", "beyonce"),
        ("\uff34\uff21\uff39\uff2c\uff2f\uff32", "taylor"),  # full-width letters (NFKC)
        ("\u0422\u0430ylor", "taylor"),  # Cyrillic capital TE and small A
        ("\u03b1\u03bd\u03bf", "avo"),  # Greek look-alikes
        ("STRASSE straße", "strasse strasse"),
        ("Ångström", "angstrom"),
        ("Mickey M\u0585use", "mickey mouse"),  # Armenian small oh (Unicode confusables)
        ("\u1d0dickey", "mickey"),  # small capital M: NFKC leaves it, its class ends in turned w
        ("\u039c\u0399\u039a\u0395\u03a5", "mikey"),  # Greek capitals: folded before casefold
        ("\U0001f17c\U0001f17e \U0001f1f2", "mo m"),  # negative squared, regional indicator
        ("\u03f9at", "cat"),  # Greek lunate sigma symbol: NFKC would make it a sigma
        ("\u0401\u0436", "\u0435\u0436"),  # Cyrillic yo loses its diaeresis, zhe has no look-alike
    ],
)
def test_normalise_folds_case_width_homoglyphs_and_diacritics(text: str, expected: str) -> None:
    assert normalise(text) == expected


@pytest.mark.parametrize(
    ("prompt", "token"),
    [
        ("sp1d3r-m4n", "spiderman"),  # leetspeak, hyphen squeezed
        ("k1ll", "kill"),  # 1 as i
        ("ki11", "kill"),  # 1 as l
        ("n@ked", "naked"),
        ("s.w.i.f.t", "swift"),  # punctuation between letters
        ("t a y l o r  s w i f t", "taylorswift"),  # spaced-out letters
        ("Spider-Man", "spiderman"),
        ("bat-man", "batman"),
    ],
)
def test_obfuscations_reach_a_plain_token(prompt: str, token: str) -> None:
    assert token in _all_tokens(prompt)


def test_plain_prompt_has_one_view_and_no_runs() -> None:
    views = prompt_views("a cat on a mat")
    assert views.token_views == [["a", "cat", "on", "a", "mat"]]
    assert views.letter_runs == []


def test_two_single_letter_words_are_not_a_run() -> None:
    assert prompt_views("was i a fool").letter_runs == []


def test_typographic_quotes_and_dashes_become_ascii() -> None:
    assert normalise("It\u2019s \u201cfine\u201d \u2014 really") == 'it\'s "fine" - really'


def test_ascii_is_only_casefolded() -> None:
    assert normalise("Rn0 I|l 1 vv") == "rn0 i|l 1 vv"  # ASCII look-alikes are left to leet views
