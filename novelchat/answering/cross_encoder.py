"""The cross-encoder reader: a reranker model (sentence-transformers ``CrossEncoder``, e.g. BAAI/bge-reranker-v2-m3,
multilingual) scores every sentence of the passages against the question; the best is the lead, and each passage is
cut around its own best sentence.

Its scores are not probabilities that a sentence holds the answer, so it presents a sentence as the answer only once
calibrated for that model (``Settings.reader_calibration``: the logistic coefficients ``bench/answer_trust.py --reader
cross-encoder --fit`` prints, on its two figures — the best score and its margin over the runner-up); uncalibrated,
its confidence is 0 and a reply is the passages, cut around its sentences.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from novelchat.answering.heuristic import Calibration, evidence, narration, sentences
from novelchat.answering.reader import Lead, Sentence, anchors_of
from novelchat.errors import NovelChatError
from novelchat.retrieval.passages import Passage
from novelchat.text.hanzi import simplified
from novelchat.text.query import Query


class ReaderUnavailable(NovelChatError, RuntimeError):
    """The reader's model cannot be loaded (not downloaded, offline, or not a cross-encoder)."""


class PairScorer(Protocol):
    """What the reader needs of a cross-encoder: a score per (question, sentence) pair, higher when it answers."""

    def predict(self, pairs: list[tuple[str, str]], **kwargs) -> Sequence[float]: ...


@dataclass
class CrossEncoderReader:
    """Ranks sentences with ``model``; ``calibration`` turns its figures into a confidence (None: 0)."""

    model: PairScorer
    calibration: Calibration | None = None

    def lead(
        self, passages: Sequence[Passage], query: Query, rarity: Mapping[str, float] | None = None
    ) -> Lead | None:
        """The best-scored sentence as the lead (no IDF needed: ``rarity`` is ignored)."""
        pieces = [(number, text) for number, passage in enumerate(passages, 1) for text in sentences(passage.text)
                  if narration(simplified(text))]  # the text's own questions never answer
        if not pieces:
            return None
        scores = np.asarray(self.model.predict([(query.text, text) for _, text in pieces]), dtype=float).ravel()
        ranked = sorted((Sentence(number, text, float(score), float(score)) for (number, text), score
                         in zip(pieces, scores, strict=True)), key=lambda s: -s.score)
        figures = evidence(ranked)  # the best score (a reranker gives 0..1: under evidence's cap) and its margin
        confidence = self.calibration.probability(*figures) if self.calibration else 0.0
        return Lead(ranked[:1], confidence, anchors_of(ranked), figures)


def load_cross_encoder(model: str, device: str | None = None) -> PairScorer:
    """The reranker ``model`` (a folder or a hub id, cached or downloaded); ReaderUnavailable in one line if not."""
    if not model:
        raise ReaderUnavailable("未设置阅读模型 / NOVELCHAT_READER_MODEL is empty (e.g. BAAI/bge-reranker-v2-m3)")
    from sentence_transformers import CrossEncoder

    try:
        return CrossEncoder(model, device=device or None)
    except (OSError, ValueError) as error:
        raise ReaderUnavailable(
            f"阅读模型 {model} 无法加载 / the reader model {model} cannot be loaded ({type(error).__name__}): "
            "download it first, or set NOVELCHAT_ANSWER_READER=heuristic"
        ) from error
