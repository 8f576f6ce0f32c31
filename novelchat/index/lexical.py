"""Lexical (BM25) index of a book's chunks: its words (``novelchat.text.tokens``) scored by bm25s.

Tokens become integer ids as they are read, held in compact arrays, so a 30 MB web novel is
indexed in bounded memory.
"""

from __future__ import annotations

import json
import math
from array import array
from collections.abc import Iterable
from pathlib import Path

import bm25s
import numpy as np

from novelchat.text.query import Query, query_tokens
from novelchat.text.tokens import tokenize

LEXICAL_VERSION = 3  # bump when text.tokens.tokenize changes: books of another version get re-indexed keywords


class LexicalIndex:
    """BM25 over one book's chunks; scores can be masked (spoiler limit) before ranking."""

    def __init__(self, model: bm25s.BM25, vocab: dict[str, int]):
        self.model = model
        self.vocab = vocab

    @classmethod
    def build(cls, texts: Iterable[str]) -> LexicalIndex:
        """Index the chunk texts, in order (document i = chunk i)."""
        vocab: dict[str, int] = {}
        ids = []
        for text in texts:
            ids.append(array("I", (vocab.setdefault(token, len(vocab)) for token in tokenize(text))))
        if not vocab:
            vocab[""] = 0
        model = bm25s.BM25()
        model.index(bm25s.tokenization.Tokenized(ids=ids, vocab=vocab), show_progress=False)
        return cls(model, vocab)

    def search(self, query: str | Query, k: int, allowed: np.ndarray | None = None) -> list[tuple[int, float]]:
        """Top-k (chunk index, score) for the query; ``allowed`` is a boolean mask over chunks."""
        token_ids = [self.vocab[token] for token in query_tokens(query) if token in self.vocab]
        if not token_ids:
            return []
        scores = self.model.get_scores_from_ids(token_ids)
        if allowed is not None:
            scores = np.where(allowed, scores, 0.0)
        top = np.argsort(-scores, kind="stable")[:k]
        return [(int(i), float(scores[i])) for i in top if scores[i] > 0]

    def rarity(self, tokens: Iterable[str]) -> dict[str, float]:
        """BM25's IDF of each token over this book's chunks (a token the book never uses is the rarest)."""
        indptr, chunks = self.model.scores["indptr"], self.model.scores["num_docs"]
        rarity = {}
        for token in tokens:
            index = self.vocab.get(token)
            found = 0 if index is None else int(indptr[index + 1] - indptr[index])
            rarity[token] = math.log(1 + (chunks - found + 0.5) / (found + 0.5))
        return rarity

    def save(self, folder: Path) -> None:
        """Write the index into ``folder`` (bm25s arrays + the vocabulary)."""
        self.model.save(str(folder))
        (folder / "vocab.json").write_text(json.dumps(self.vocab, ensure_ascii=False), encoding="utf-8")

    @classmethod
    def load(cls, folder: Path) -> LexicalIndex:
        """Load an index written by ``save`` (memory-mapped arrays)."""
        model = bm25s.BM25.load(str(folder), mmap=True)
        vocab = json.loads((folder / "vocab.json").read_text(encoding="utf-8"))
        return cls(model, vocab)
