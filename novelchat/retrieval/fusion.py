"""Reciprocal-rank fusion of the keyword and dense rankings, the dense one weighted by how much the two agree."""

from __future__ import annotations

Key = tuple[str, int]  # (book_id, chunk)

RRF_K = 60  # the constant of Cormack et al.; ranks matter, raw scores do not
AGREEMENT_TOP = 10  # the dense list's weight depends on how much of its top 10 the keyword list shares
MIN_DENSE_WEIGHT = 0.1


def rrf_fuse(rankings: list[list[Key]], weights: list[float]) -> list[tuple[Key, float]]:
    """Weighted reciprocal-rank fusion of ranked lists of (book_id, chunk) keys; best first."""
    scores: dict[Key, float] = {}
    for ranking, weight in zip(rankings, weights, strict=True):
        for rank, key in enumerate(ranking, 1):
            scores[key] = scores.get(key, 0.0) + weight / (RRF_K + rank)
    return sorted(scores.items(), key=lambda item: -item[1])


def dense_weight(lexical: list[Key], dense: list[Key]) -> float:
    """How much the dense list counts in the fusion, for this question: twice the share of the top
    ``AGREEMENT_TOP`` that both lists hold, between ``MIN_DENSE_WEIGHT`` and 1. When the embedding model finds
    none of the passages the keywords find (classical Chinese with a small model), its ranks are mostly noise."""
    shared = len(set(lexical[:AGREEMENT_TOP]) & set(dense[:AGREEMENT_TOP])) / AGREEMENT_TOP
    return max(MIN_DENSE_WEIGHT, min(1.0, 2 * shared))


def rank_in(ranking: list[Key], key: Key) -> int | None:
    """The 1-based rank of ``key`` in ``ranking``; None when it is not there."""
    try:
        return ranking.index(key) + 1
    except ValueError:
        return None
