"""Quotes in a text: where each ``“…”``, ``「…」``, ``『…』`` or ``"…"`` stands, and the narration around them."""

from __future__ import annotations

import re
from dataclasses import dataclass

CLOSERS = "”」』\""
_OPENERS = {"“": "”\"", "「": "」", "『": "』", '"': "\"”"}
_MARKS = re.compile(r"[“「『\"\n]")
_QUOTED = re.compile(r"“[^”\n]*(?:”|$)|「[^」\n]*(?:」|$)|『[^』\n]*(?:』|$)|\"[^\"\n]*\"")


@dataclass(frozen=True)
class Quote:
    """A quote in a text: ``text[start:end]`` with its marks, the words inside, and who says them (None: unknown)."""

    start: int
    end: int
    text: str
    speaker: str | None = None


def find_quotes(text: str) -> list[tuple[int, int]]:
    """(start, end) of each quote: ``“…”``, ``「…」``, ``『…』`` or ``"…"`` (old texts mix ``“…"`` and ``"…”``).

    Marks of another kind inside a quote are part of it. A quote never crosses a line end: one that is not closed
    on its line (or before the next ``“`` — a lost closing mark) ends there; a lone ``"`` is no quote.
    """
    spans = []
    at = 0
    while (found := _MARKS.search(text, at)) is not None:
        start, mark = found.start(), found.group()
        at = start + 1
        if mark == "\n":
            continue
        line_end = text.find("\n", at)
        line_end = len(text) if line_end < 0 else line_end
        close = min((i for i in (text.find(c, at, line_end) for c in _OPENERS[mark]) if i >= 0), default=-1)
        again = text.find(mark, at, close if close >= 0 else line_end) if mark != '"' else -1
        if again >= 0:
            spans.append((start, again))
            at = again
        elif close >= 0:
            spans.append((start, close + 1))
            at = close + 1
        elif mark != '"' and line_end > at:
            spans.append((start, line_end))
            at = line_end
    return [(start, end) for start, end in spans if end - start > 1]


def inside(text: str, start: int, end: int) -> str:
    """The words of the quote ``text[start:end]``, without its marks (a quote cut at the line end has no closer)."""
    return text[start + 1: end - 1] if text[end - 1] in CLOSERS else text[start + 1: end]


def blank_quotes(line: str) -> str:
    """A line with each quote replaced by ``|`` (so names inside quotes never count as narration)."""
    return _QUOTED.sub("|", line)
