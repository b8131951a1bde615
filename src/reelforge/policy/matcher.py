"""Finding lexicon phrases in token sequences: a token trie, plus a character trie for de-spaced
letter runs. Both are built once; scanning reads them only, so one matcher serves many threads.

The scan visits only positions whose token starts some phrase (a set lookup done in a list
comprehension), then walks the trie from there, so its cost grows with the prompt's length and
not with the size of the lexicons. Letter runs ("t a y l o r s w i f t" joined) are searched
with one regex built from the character trie.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import NamedTuple

from reelforge.policy.lexicon import LexiconEntry, LexiconPhrase

# De-spaced entries shorter than this are not searched inside letter runs ("s e x" is caught by
# the token views already, and short strings would hit by chance inside longer runs).
_MIN_RUN_MATCH = 4


class Hit(NamedTuple):
    """A phrase found at tokens ``start`` (inclusive) to ``end`` (exclusive) of one view."""

    start: int
    end: int
    entry: LexiconEntry


class _Node:
    __slots__ = ("children", "entries")

    def __init__(self) -> None:
        self.children: dict[str, _Node] = {}
        self.entries: list[LexiconEntry] = []


class PhraseMatcher:
    """All phrases of all lexicons in one token trie (and one character trie)."""

    def __init__(self, phrases: Iterable[LexiconPhrase]) -> None:
        self._root = _Node()
        self._char_root = _Node()
        for phrase in phrases:
            for form in phrase.forms:
                _insert(self._root, form, phrase.entry)
                # One-token forms (including de-spaced ones) are what a letter run can spell.
                if len(form) == 1 and len(form[0]) >= _MIN_RUN_MATCH:
                    _insert(self._char_root, form[0], phrase.entry)
        self._run_pattern = re.compile(_trie_pattern(self._char_root) or "(?!)")

    def scan(self, view: list[str]) -> list[Hit]:
        """Every phrase occurrence in a token sequence (overlaps included)."""
        roots = self._root.children
        hits: list[Hit] = []
        size = len(view)
        for start in [i for i, token in enumerate(view) if token in roots]:
            node = roots[view[start]]
            end = start + 1
            while True:
                if node.entries:
                    hits.extend(Hit(start, end, entry) for entry in node.entries)
                if end >= size:
                    break
                next_node = node.children.get(view[end])
                if next_node is None:
                    break
                node, end = next_node, end + 1
        return hits

    def split_letter_run(self, run: str) -> list[str]:
        """The de-spaced phrases inside a letter run, in order, as a token sequence to scan.

        At each position the longest phrase wins, then the search goes on after it.
        """
        return self._run_pattern.findall(run)


def _trie_pattern(node: _Node) -> str:
    """A regex equal to the trie: prefixes factored out, so matching stays in C and is greedy
    (the longest phrase at a position wins)."""
    branches = [re.escape(key) + _trie_pattern(child) for key, child in node.children.items()]
    if not branches:
        return ""
    body = branches[0] if len(branches) == 1 else f"(?:{'|'.join(branches)})"
    return f"(?:{body})?" if node.entries else body


def _insert(root: _Node, keys: Iterable[str], entry: LexiconEntry) -> None:
    node = root
    for key in keys:
        node = node.children.setdefault(key, _Node())
    if entry not in node.entries:
        node.entries.append(entry)
