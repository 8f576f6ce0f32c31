"""The reader interface: what picks, from the retrieved passages, the sentence(s) that answer a question.

A reader is any object with ``lead(passages, query, rarity)``; the ones NovelChat knows are listed by name in
``novelchat.answering.readers``. Today there is one, the heuristic rules of ``novelchat.answering.heuristic``."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

from novelchat.retrieval.passages import Passage
from novelchat.text.query import Query


@dataclass
class Sentence:
    """One sentence of passage ``number`` (1-based: its citation [n]) and how well it answers: ``held``, the share
    of the question it holds; ``score``, what ranks it."""

    number: int
    text: str
    score: float
    held: float


@dataclass
class Lead:
    """What opens a retrieval-only reply: the best sentence(s), ``confidence`` (the best one's share of the
    question, 0..1 and more) and whether that seems to answer at all."""

    sentences: list[Sentence]
    answered: bool
    confidence: float = 0.0

    @property
    def text(self) -> str:
        """The sentences alone, no citations: what the voice reads."""
        return "".join(s.text for s in self.sentences)

    @property
    def cited(self) -> str:
        """The sentences, each followed by its passage's citation: ``…五遍。 [2]``."""
        return "".join(f"{s.text} [{s.number}]" for s in self.sentences)


class Reader(Protocol):
    """Picks the answer sentence(s) from the passages; ``rarity`` is each keyword's IDF in the searched books
    (``Retrieval.rarity``; None: the reader estimates it). None when there is nothing to show."""

    def lead(
        self, passages: Sequence[Passage], query: Query, rarity: Mapping[str, float] | None = None
    ) -> Lead | None: ...
