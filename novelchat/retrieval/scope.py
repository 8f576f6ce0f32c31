"""The reader's scope: which books a question is about and, for each, the last chapter the reader has read.

Every path that reads a book for the reader — retrieval, QA, role-play, the greeting, card drafting — is given
one ``Scope`` and has no default for it, so a spoiler limit cannot be forgotten on the way. "Read to the end" is
said explicitly (``Scope.whole``), never implied by a missing argument.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass


@dataclass(frozen=True)
class Scope:
    """Books and, for each, the last chapter read (None: the whole book). Order is kept; titles are unique."""

    read_to: tuple[tuple[str, int | None], ...]

    def __post_init__(self) -> None:
        titles = [title for title, _ in self.read_to]
        if len(set(titles)) != len(titles):
            raise ValueError(f"a book appears twice in the scope: {titles}")
        for title, chapter in self.read_to:
            if chapter is not None and chapter < 0:
                raise ValueError(f"chapter limit of {title!r} is negative: {chapter}")

    @classmethod
    def of(cls, limits: Mapping[str, int | None]) -> Scope:
        """Books with their limits, as a mapping from title to the last chapter read (None: all of it)."""
        return cls(tuple(limits.items()))

    @classmethod
    def whole(cls, titles: Iterable[str]) -> Scope:
        """The books read to the end: nothing is held back."""
        return cls(tuple((title, None) for title in titles))

    @property
    def titles(self) -> tuple[str, ...]:
        return tuple(title for title, _ in self.read_to)

    def limit(self, title: str) -> int | None:
        """The last chapter of ``title`` the reader has read (None: all of it); KeyError if it is not in scope."""
        for name, chapter in self.read_to:
            if name == title:
                return chapter
        raise KeyError(title)

    def only(self, title: str) -> Scope:
        """The scope narrowed to one of its books, with that book's limit; empty when the book is not in scope."""
        return Scope(tuple(pair for pair in self.read_to if pair[0] == title))

    def describe(self, english: bool = False) -> str:
        """Where the reader is, for a prompt: 全书结尾 for one whole book, 第 3 章 for one book, each book otherwise
        (``english``: "the end of the book", "chapter 3", "“Title” chapter 3; …")."""
        if len(self.read_to) == 1:
            return _reached(self.read_to[0][1], english)
        if english:
            return "; ".join(f"“{title}” {_reached(chapter, True)}" for title, chapter in self.read_to) or "the end"
        return "；".join(f"《{title}》{_reached(chapter)}" for title, chapter in self.read_to) or "全书结尾"


def _reached(chapter: int | None, english: bool = False) -> str:
    if english:
        return "the end of the book" if chapter is None else f"chapter {chapter}"
    return "全书结尾" if chapter is None else f"第 {chapter} 章"
