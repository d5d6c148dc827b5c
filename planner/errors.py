"""One error type for every user mistake: it carries where and what was expected."""

from __future__ import annotations

import difflib
from collections.abc import Iterable

EXCERPT = 60  # characters of a user's value quoted in a message


def cut(text: str, limit: int = EXCERPT) -> str:
    """`text`, or its first `limit` characters and `...`: never kilobytes of input."""
    return text if len(text) <= limit else text[:limit - 3] + "..."


def quote(value: object, limit: int = EXCERPT) -> str:
    """repr(value) cut to `limit` characters (with the length of a long text)."""
    text = repr(value)
    size = f" ({len(value):,} characters)" if isinstance(value, str) and len(text) > limit \
        else ""
    return cut(text, limit) + size


def located(message: str, file: str | None = None, line: int | None = None,
            path: str | None = None) -> str:
    """``file:line: key.path: message`` with the parts that are known, on one line."""
    where = ":".join(str(p) for p in (file, line) if p is not None)
    text = ": ".join(p for p in (where, path, message) if p)
    return " ".join(text.split()) if "\n" in text or "\r" in text else text


class PlanError(Exception):
    """A mistake in a scenario or a catalog: the CLI prints it as one line and exits 2.

    The message reads ``file:line: key.path: what was expected, got X`` with the parts
    that are known.
    """

    def __init__(self, message: str, file: str | None = None, line: int | None = None,
                 path: str | None = None):
        self.file, self.line, self.path, self.message = file, line, path, message
        super().__init__(located(message, file, line, path))


def closest(name: object, known: Iterable[str], what: str) -> str:
    """`unknown <what> 'x'; closest known: a, b, c` (or all known names when none is close)."""
    known = sorted(set(known))
    near = difflib.get_close_matches(str(name), known, n=3, cutoff=0.5)
    listed = ", ".join(near or known[:8]) + ("" if near or len(known) <= 8 else ", ...")
    hint = "closest known" if near else "known"
    return f"unknown {what} {quote(name)}; {hint}: {listed or '(none)'}"


def expected_range(what: str, low: float | None = None, high: float | None = None,
                   low_open: bool = False, high_open: bool = False) -> str:
    """`a number >= 0 and < 1`, `an integer <= 120`, ... for messages."""
    parts = [what]
    if low is not None:
        parts.append(f"{'>' if low_open else '>='} {low:g}")
    if high is not None:
        parts.append(f"{'and ' if low is not None else ''}{'<' if high_open else '<='} {high:g}")
    return " ".join(parts)
