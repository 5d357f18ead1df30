""""Did you mean" suggestions, shared by every layer (standard library only)."""

from __future__ import annotations

import difflib
from collections.abc import Iterable

__all__ = ["suggest"]


def suggest(word: str, choices: Iterable[str]) -> str | None:
    """The closest of ``choices`` to ``word`` when one is close enough to be a likely typo.

    A choice differing only in letter case always wins; otherwise difflib's ratio must reach 0.6.
    Returns ``None`` when nothing is close, or when ``word`` is itself one of the choices.
    """
    pool = sorted({c for c in choices if isinstance(c, str)})
    if word in pool:
        return None
    lowered = {c.lower(): c for c in pool}
    if word.lower() in lowered:
        return lowered[word.lower()]
    found = difflib.get_close_matches(word, pool, n=1, cutoff=0.6)
    return found[0] if found else None
