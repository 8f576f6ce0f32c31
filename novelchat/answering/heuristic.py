"""The heuristic reader: the sentence that answers, picked from the retrieved passages by rules (no model).

Each sentence of the passages is scored by the question's keywords it holds (question words such as 什么/哪天/what
left out), each weighted by how rare it is in the book (IDF) and by how close it stands to the question word in the
question (雇何伯船的汉子有什么特征: 特征 and 汉子 count more than 何伯). A keyword in a neighbouring sentence counts
half (questions are often about the sentence after the one that names the scene); a question in the text (“芦花洲离
这里有多远？”) hands its keywords to the next sentence, where its answer is, and is never the answer itself. A
sentence shaped like the answer the question asks for (几遍 → 五遍, 哪天 → 九月十三, 叫什么 → 唤做…) counts double.
A keyword further away in the same passage still counts a little: the passage is about it. The figures are
``AnswerKnobs``.

How sure it is (``Lead.confidence``) is a logistic function of two figures of that scoring, ``evidence``: the share
of the question the best sentence holds and its margin over the runner-up; the coefficients (``CONFIDENCE``) are
fitted by bench/answer_trust.py --fit.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from itertools import pairwise

from novelchat.answering.reader import Lead, Sentence, anchors_of
from novelchat.answering.shapes import answer_shape
from novelchat.books.novel import CHAPTER_HEADING
from novelchat.retrieval.passages import Passage
from novelchat.text.hanzi import simplified
from novelchat.text.query import Query, blank_question_words
from novelchat.text.sentences import CLAUSE_END, CLOSERS, split_sentences

_QUOTE_OPENS = re.compile(r"[：:]\s*[“「\"]")
_SPEECH_TAG = re.compile(r"^\s*$|[道说问叫曰喊呼]$")
_QUOTES = re.compile(r"[“”‘’「」『』\"']")
_TRAILING = CLOSERS + " "  # what may follow a sentence's end mark


@dataclass(frozen=True)
class AnswerKnobs:
    """The reader's figures, as tuned on the novella and 西游记 (bench/answer_sentence.py)."""

    shape_bonus: float = 1.0  # a sentence shaped like the answer scores (1 + this) times as much
    neighbour: float = 0.5  # a keyword one sentence away counts this much (two away: squared)
    in_passage: float = 0.1  # a keyword elsewhere in the passage, more than two sentences away, counts this much
    focus: float = 2.0  # a keyword right beside the question word counts (1 + this) times as much; 2 chars away, half
    core_clause: float = 2.0  # keywords in the question's own clause (after 孙悟空学艺归来，) count this many times
    runner_up: float = 0.8  # the second-best sentence joins the lead when it scores this much of the best
    tie_break: float = 0.001  # taken off a sentence's rank per passage number: of equals, the better passage's wins


KNOBS = AnswerKnobs()


@dataclass(frozen=True)
class Calibration:
    """Logistic coefficients: confidence = 1 / (1 + exp(-(intercept + held * share held + margin * margin)))."""

    intercept: float
    held: float
    margin: float

    def probability(self, held: float, margin: float) -> float:
        """The calibrated probability for these figures (``evidence``)."""
        return 1 / (1 + math.exp(-(self.intercept + self.held * held + self.margin * margin)))


CONFIDENCE = Calibration(intercept=-1.628, held=1.202, margin=3.562)  # bench/answer_trust.py --fit


def sentences(text: str) -> list[str]:
    """The sentences of the text (``novelchat.text.sentences``) that hold a letter or a digit."""
    return [piece for piece in split_sentences(text) if any(ch.isalnum() for ch in piece)]


def narration(sentence: str) -> str:
    """What can answer in the sentence: all of it, but only the narration before a question it quotes (掌柜端着一碟
    炒花生凑过来，在他对面坐下：“先生是读书人吧？” → 掌柜…坐下); nothing when it only asks (“芦花洲离这里有多远？”),
    after a speech tag alone (何伯问：“…？”), or introduces a speech (美猴王暗暗的自称道：)."""
    if sentence.rstrip(_TRAILING).endswith(("：", ":")):
        return ""
    if not is_question(sentence):
        return sentence
    said = _QUOTE_OPENS.search(sentence)
    before = sentence[: said.start()] if said else ""
    return "" if _SPEECH_TAG.search(before) else before


def is_question(sentence: str) -> bool:
    """Whether the sentence asks (ends in ？ or ?, closing quotes aside)."""
    return sentence.rstrip(_TRAILING).endswith(("？", "?"))


def emphasis(question: str | Query, knobs: AnswerKnobs = KNOBS) -> dict[str, float]:
    """Each keyword of the question and how much it counts: more beside the question word and in its clause."""
    query = Query.parse(question)
    blank = query.blanked.lower()
    bounds = [0, *(m.end() for m in CLAUSE_END.finditer(query.folded)), len(query.folded) + 1]
    core = [(a, b) for a, b in pairwise(bounds) if any(a <= start < b for start, _ in query.asked)]
    weights = {}
    for token in set(query.keywords):
        at = [m.span() for m in re.finditer(re.escape(token), blank)]
        gap = min((max(qs - end, start - qe, 0) for start, end in at for qs, qe in query.asked), default=math.inf)
        inside = len(core) < len(bounds) - 1 and any(a <= start < b for start, _ in at for a, b in core)
        weights[token] = (1 + knobs.focus * 0.5 ** (gap / 2)) * (knobs.core_clause if inside else 1.0)
    return weights


def _presence(
    term: str, lowered: Sequence[str], questions: Sequence[bool], i: int, own: str, knobs: AnswerKnobs
) -> float:
    """How much ``term`` counts for sentence ``i`` (``own``: the part of it that can answer): 1 in it, less in a
    neighbour, a little anywhere else in the passage; a question hands it on."""
    best = knobs.in_passage if any(term in text for text in lowered) else 0.0
    for j in range(max(0, i - 2), min(len(lowered), i + 3)):
        if term in (own if j == i else lowered[j]):
            best = max(best, 1.0 if j == i - 1 and questions[j] else knobs.neighbour ** abs(i - j))
    return best


def score_sentences(
    passages: Sequence[Passage],
    question: str | Query,
    rarity: Mapping[str, float] | None = None,
    knobs: AnswerKnobs = KNOBS,
) -> list[Sentence]:
    """Every sentence of the passages (headings and the text's own questions left out), scored as an answer: the
    share of the question's weighted keywords it holds (doubled when it has the answer's shape).

    ``rarity`` is each keyword's IDF in the book (``Retrieval.rarity``); without it, IDF over these sentences.
    Traditional characters are read as simplified, in the question and the book alike.
    """
    query = Query.parse(question)
    split = [sentences(p.text) for p in passages]
    folded_split = [[simplified(s) for s in part] for part in split]
    weighted = _weighted(query, [s for folded in folded_split for s in folded], rarity, knobs)
    whole = sum(weighted.values()) or 1.0
    shape = answer_shape(query)
    scored = []
    for number, (part, folded) in enumerate(zip(split, folded_split, strict=True), 1):
        lowered, questions = [_matchable(s) for s in folded], [is_question(s) for s in folded]
        for i, sentence in enumerate(part):
            own = narration(folded[i])
            if not own or CHAPTER_HEADING.fullmatch(sentence):
                continue
            mine = _matchable(own)
            score = sum(w * _presence(t, lowered, questions, i, mine, knobs) for t, w in weighted.items()) / whole
            if shape and shape.search(blank_question_words(own)):
                score *= 1 + knobs.shape_bonus
            scored.append(Sentence(number, sentence, score - knobs.tie_break * number, score))
    return scored


def _weighted(
    query: Query, texts: Sequence[str], rarity: Mapping[str, float] | None, knobs: AnswerKnobs
) -> dict[str, float]:
    """Each keyword's weight: its emphasis in the question times its rarity (IDF over ``texts`` without ``rarity``)."""
    weights = emphasis(query, knobs)
    rarity = rarity or _local_rarity(weights, texts)
    return {term: rarity.get(term, 0.0) * boost for term, boost in weights.items()}


def evidence(ranked: Sequence[Sentence]) -> tuple[float, float]:
    """The figures confidence is computed from, for sentences best first: the share of the question the best one
    holds (capped at 2: the answer's shape doubles it) and its margin over the best other sentence (0..1)."""
    best = ranked[0]
    runner = next((s.score for s in ranked[1:] if s.text != best.text), 0.0)
    return min(best.held, 2.0), (1 - max(runner, 0.0) / best.score) if best.score > 0 else 0.0


def _matchable(text: str) -> str:
    """The text as keywords are looked for in it: lower-cased, quotation marks out (“巽宫”位下 holds 宫位)."""
    return _QUOTES.sub("", text.lower())


def _local_rarity(terms: Mapping[str, float], texts: Sequence[str]) -> dict[str, float]:
    """IDF of each term over ``texts`` (when the book's own figures are not at hand)."""
    lowered = [t.lower() for t in texts]
    found = {term: sum(term in text for text in lowered) for term in terms}
    return {term: math.log(1 + (len(texts) - n + 0.5) / (n + 0.5)) for term, n in found.items()}


def lead(
    passages: Sequence[Passage],
    question: str | Query,
    rarity: Mapping[str, float] | None = None,
    knobs: AnswerKnobs = KNOBS,
) -> Lead | None:
    """The sentence that best answers, and the runner-up when it scores nearly as well and says something else, with
    the calibrated confidence that they hold the answer. None when nothing to show."""
    ranked = sorted(score_sentences(passages, question, rarity, knobs), key=lambda s: -s.score)
    if not ranked:
        return None
    best = ranked[0]
    runner = next((s for s in ranked[1:] if s.text != best.text), None)
    chosen = [best] + ([runner] if runner and runner.score >= knobs.runner_up * best.score > 0 else [])
    figures = evidence(ranked)
    return Lead(chosen, CONFIDENCE.probability(*figures), anchors_of(ranked), figures)


@dataclass(frozen=True)
class HeuristicReader:
    """These rules as a ``Reader``, tuned by ``knobs``."""

    knobs: AnswerKnobs = KNOBS

    def lead(
        self, passages: Sequence[Passage], query: Query, rarity: Mapping[str, float] | None = None
    ) -> Lead | None:
        """The answer sentence(s) of the passages (``lead``)."""
        return lead(passages, query, rarity, self.knobs)
