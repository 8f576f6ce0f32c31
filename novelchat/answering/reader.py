"""The reader interface: what picks, from the retrieved passages, the sentence(s) that answer a question.

A reader is any object with ``lead(passages, query, rarity)``; the ones NovelChat knows are listed by name in
``novelchat.answering.readers``: the heuristic rules of ``novelchat.answering.heuristic`` (the default), and a
cross-encoder model (``novelchat.answering.cross_encoder``) for those who have one.

A lead's ``confidence`` is a probability (calibrated by bench/answer_trust.py on books split into fitted and held
out): that the sentence(s) shown as the answer hold it. A reply presents them as the answer only at
``ANSWER_FIRST`` or above. A reader never says the book does not answer: no rule over the passages made that call
right often enough on books it was not fitted on (bench/answer_trust.py), so only a chat model that reads them says
it."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from novelchat.retrieval.passages import Passage
from novelchat.text.query import Query

# A lead is shown as the answer at this confidence or above: the lowest threshold at which answer-first precision
# stays >= 0.9 on the fitted books, each judged by a fit that left it out (bench/answer_trust.py --fit chooses it).
ANSWER_FIRST = 0.83


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
    """The best sentence(s) of the passages; ``confidence``, the probability (0..1) that they hold the answer;
    ``anchors``, each passage's own best sentence by its number (what a reply cuts that passage around);
    ``evidence``, the reader's two figures its confidence is calibrated on (bench/answer_trust.py fits them)."""

    sentences: list[Sentence]
    confidence: float = 0.0
    anchors: dict[int, str] = field(default_factory=dict)
    evidence: tuple[float, float] = (0.0, 0.0)

    @property
    def shown_as_answer(self) -> bool:
        """Whether a reply may present these sentences as the answer (confidence at ``ANSWER_FIRST`` or above)."""
        return self.confidence >= ANSWER_FIRST

    @property
    def text(self) -> str:
        """The sentences alone, no citations: what the voice reads."""
        return "".join(s.text for s in self.sentences)

    @property
    def cited(self) -> str:
        """The sentences, each followed by its passage's citation: ``…五遍。 [2]``."""
        return "".join(f"{s.text} [{s.number}]" for s in self.sentences)


def anchors_of(ranked: Iterable[Sentence]) -> dict[int, str]:
    """Each passage's best sentence (``Lead.anchors``), from sentences best first."""
    anchors: dict[int, str] = {}
    for sentence in ranked:
        anchors.setdefault(sentence.number, sentence.text)
    return anchors


class Reader(Protocol):
    """Picks the answer sentence(s) from the passages; ``rarity`` is each keyword's IDF in the searched books
    (``Retrieval.rarity``; None: the reader estimates it). None when there is nothing to show."""

    def lead(
        self, passages: Sequence[Passage], query: Query, rarity: Mapping[str, float] | None = None
    ) -> Lead | None: ...
