"""One error type for every user mistake: it carries where and what was expected."""

from __future__ import annotations

import difflib
from collections.abc import Iterable


class PlanError(Exception):
    """A mistake in a scenario or a catalog: the CLI prints it as one line and exits 2.

    The message reads ``file:line: key.path: what was expected, got X`` with the parts
    that are known.
    """

    def __init__(self, message: str, file: str | None = None, line: int | None = None,
                 path: str | None = None):
        self.file, self.line, self.path, self.message = file, line, path, message
        where = ":".join(str(p) for p in (file, line) if p is not None)
        text = ": ".join(p for p in (where, path, message) if p)
        super().__init__(text)


def closest(name: object, known: Iterable[str], what: str) -> str:
    """`unknown <what> 'x'; closest known: a, b, c` (or all known names when none is close)."""
    known = sorted(set(known))
    near = difflib.get_close_matches(str(name), known, n=3, cutoff=0.5)
    listed = ", ".join(near or known[:8]) + ("" if near or len(known) <= 8 else ", ...")
    hint = "closest known" if near else "known"
    return f"unknown {what} {name!r}; {hint}: {listed or '(none)'}"
