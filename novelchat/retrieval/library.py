"""Hybrid retrieval over the on-disk index: BM25 and Chroma, fused by reciprocal rank (the dense list weighted by how
much it agrees with the keyword list); no two passages show the same stretch of the book.

The reader's scope (``scope.Scope``: the books and, for each, the last chapter read) is a hard filter in both
retrievers; there is no default for it. A book whose
vectors are not complete (or were made by another embedding model, or live in another store, or whose
Chroma server is down) is searched lexically only, and the result says so in ``notes``.
"""

from __future__ import annotations

import concurrent.futures
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Literal

import httpx
import numpy as np
from langchain_chroma import Chroma
from langchain_core.embeddings import Embeddings

from novelchat.index.plan import index_settings, vector_mismatch
from novelchat.config import Settings
from novelchat.index.embeddings import EmbeddingUnavailable, make_embeddings
from novelchat.index.store import (
    LOCAL_STORE,
    MANIFEST_NAME,
    SERVER_TIMEOUT_S,
    BookEntry,
    LoadedBook,
    Manifest,
    VectorStoreUnavailable,
    chroma_client,
    load_book,
    load_manifest,
    mark_server_failed,
    vector_store_label,
)
from novelchat.index.lexical import query_tokens
from novelchat.retrieval.scope import Scope

Mode = Literal["hybrid", "bm25", "dense"]
_SERVER_SEARCHES = concurrent.futures.ThreadPoolExecutor(max_workers=4, thread_name_prefix="chroma-search")
EMBEDDING_RETRY_S = 30.0  # as a failed Chroma server (index_store.SERVER_RETRY_S)
RRF_K = 60  # the constant of Cormack et al.; ranks matter, raw scores do not
AGREEMENT_TOP = 10  # the dense list's weight depends on how much of its top 10 the keyword list shares
MIN_DENSE_WEIGHT = 0.1
REPEAT_SHARE = 0.8  # a passage whose pairs of characters or words are this much another's is not shown twice


@dataclass
class Passage:
    """A retrieved chunk with its citation and how each retriever ranked it (1-based, None = not found)."""

    book_id: str
    book: str
    chapter: int
    chapter_title: str
    start: int
    end: int
    text: str
    score: float = 0.0
    lexical_rank: int | None = None
    dense_rank: int | None = None

    @property
    def citation(self) -> str:
        return f"《{self.book}》{self.chapter_title}（{self.start}–{self.end}）"


@dataclass
class Retrieval:
    """Passages best first, plus notes for the reader (e.g. a book searched by keywords only)."""

    passages: list[Passage]
    notes: list[str] = field(default_factory=list)
    rarity: dict[str, float] = field(default_factory=dict)  # the question's keywords: IDF in the searched books


class NoIndexError(RuntimeError):
    """There is no index (or no such book); the message is one friendly line."""


def rrf_fuse(rankings: list[list[tuple[str, int]]], weights: list[float]) -> list[tuple[tuple[str, int], float]]:
    """Weighted reciprocal-rank fusion of ranked lists of (book_id, chunk) keys; best first."""
    scores: dict[tuple[str, int], float] = {}
    for ranking, weight in zip(rankings, weights, strict=True):
        for rank, key in enumerate(ranking, 1):
            scores[key] = scores.get(key, 0.0) + weight / (RRF_K + rank)
    return sorted(scores.items(), key=lambda item: -item[1])


def dense_weight(lexical: list[tuple[str, int]], dense: list[tuple[str, int]]) -> float:
    """How much the dense list counts in the fusion, for this question: twice the share of the top
    ``AGREEMENT_TOP`` that both lists hold, between ``MIN_DENSE_WEIGHT`` and 1. When the embedding model finds
    none of the passages the keywords find (classical Chinese with a small model), its ranks are mostly noise."""
    shared = len(set(lexical[:AGREEMENT_TOP]) & set(dense[:AGREEMENT_TOP])) / AGREEMENT_TOP
    return max(MIN_DENSE_WEIGHT, min(1.0, 2 * shared))


_UNITS = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]|\w+")


def _pairs(text: str) -> set[tuple[str, ...]]:
    """Neighbouring pairs of characters (Chinese) or words (other scripts)."""
    units = _UNITS.findall(text.lower())
    return set(zip(units, units[1:], strict=False))


def repeats(a: str, b: str) -> bool:
    """Whether two passages are mostly the same text (share ``REPEAT_SHARE`` of the shorter one's pairs)."""
    pairs_a, pairs_b = _pairs(a), _pairs(b)
    return bool(pairs_a and pairs_b) and len(pairs_a & pairs_b) >= REPEAT_SHARE * min(len(pairs_a), len(pairs_b))


def _best_rank(a: int | None, b: int | None) -> int | None:
    return min(r for r in (a, b) if r is not None) if a or b else None


def merged(a: Passage, b: Passage, book_text: str) -> Passage:
    """One passage covering two overlapping stretches of a book, ranked as the better of them."""
    start, end = min(a.start, b.start), max(a.end, b.end)
    return replace(a, start=start, end=end, text=book_text[start:end], score=max(a.score, b.score),
                   lexical_rank=_best_rank(a.lexical_rank, b.lexical_rank),
                   dense_rank=_best_rank(a.dense_rank, b.dense_rank))


def add_passage(kept: list[Passage], new: Passage, book_text: str) -> None:
    """Add ``new`` unless it repeats a kept passage: a stretch of the book overlapping kept ones (neighbouring
    chunks share their edges) is merged with them into one passage; a passage with mostly the same text as a kept
    one (a verse the book repeats) is left out."""
    same = [p for p in kept if p.book_id == new.book_id and p.start < new.end and new.start < p.end]
    if same:
        combined = same[0]
        for passage in [*same[1:], new]:
            combined = merged(combined, passage, book_text)
        kept[kept.index(same[0])] = combined
        for passage in same[1:]:
            kept.remove(passage)
    elif not any(repeats(old.text, new.text) for old in kept):
        kept.append(new)


class Library:
    """The index of one folder opened for reading; reloads itself when the manifest changes."""

    def __init__(self, settings: Settings):
        self.settings = settings
        self.persist_dir = Path(settings.persist_dir)
        self._lock = threading.Lock()
        self._manifest_mtime = -1.0
        self.manifest = Manifest()
        self._books: dict[str, LoadedBook] = {}
        self._embeddings: Embeddings | None = None
        self._embedding_error: str | None = None
        self._embedding_retry_at = float("-inf")
        self.clock: Callable[[], float] = time.monotonic

    # --- what is indexed --------------------------------------------------------------------------
    def refresh(self) -> Manifest:
        """Re-read the manifest if a build changed it."""
        path = self.persist_dir / MANIFEST_NAME
        mtime = path.stat().st_mtime if path.exists() else 0.0
        with self._lock:
            if mtime != self._manifest_mtime:
                self.manifest = load_manifest(self.persist_dir)
                self._manifest_mtime = mtime
                current = {_key(e) for e in self.manifest.books.values()}
                self._books = {k: v for k, v in self._books.items() if _key(v.entry) in current}
        return self.manifest

    def books(self) -> list[BookEntry]:
        """Indexed books, by title."""
        return sorted(self.refresh().books.values(), key=lambda e: e.title)

    def find_book(self, name: str) -> BookEntry:
        """A book by id, title or file name."""
        for entry in self.books():
            if name in (entry.book_id, entry.title, entry.file):
                return entry
        known = "、".join(e.title for e in self.books()) or "（无 / none）"
        raise NoIndexError(f"索引中没有《{name}》；已有：{known} / no book {name!r} in the index")

    def dense_ready(self, entry: BookEntry) -> bool:
        """Whether the book's vectors are complete, made by the configured embedding model, in the configured store."""
        return entry.dense_complete and not vector_mismatch(self.manifest, index_settings(self.settings))

    def loaded(self, entry: BookEntry) -> LoadedBook:
        """The book's text, chunk metadata and lexical index (loaded once)."""
        with self._lock:
            book = self._books.get(entry.book_id)
            if book is None or _key(book.entry) != _key(entry):
                book = self._books[entry.book_id] = load_book(self.persist_dir, entry)
            return book

    def embeddings(self) -> Embeddings | None:
        """The query embedder, made once; None (with a note) when it cannot be loaded. A load that failed is tried
        again ``EMBEDDING_RETRY_S`` later (a blip does not turn vectors off until a restart), not at every question."""
        if self._embeddings is None and self.clock() >= self._embedding_retry_at:
            try:
                self._embeddings, self._embedding_error = make_embeddings(self.settings), None
            except EmbeddingUnavailable as error:
                self._embedding_error, self._embedding_retry_at = str(error), self.clock() + EMBEDDING_RETRY_S
        return self._embeddings

    # --- retrieval ----------------------------------------------------------------------------------
    def retrieve(self, question: str, scope: Scope, k: int = 5, mode: Mode = "hybrid") -> Retrieval:
        """The k best passages for the question from the books in ``scope``, never past a book's chapter limit."""
        if not scope.read_to:
            raise NoIndexError("还没有索引任何书：先运行 python gen_chroma.py / nothing indexed yet: run gen_chroma.py")
        entries = [self.find_book(title) for title in scope.titles]
        limits = {entry.book_id: limit for entry, (_, limit) in zip(entries, scope.read_to, strict=True)}
        depth = max(4 * k, 20)
        notes: list[str] = []
        rankings = []
        if mode in ("hybrid", "bm25"):
            rankings.append(self._lexical_ranking(question, entries, depth, limits))
        if mode in ("hybrid", "dense"):
            rankings.append(self._dense_ranking(question, entries, depth, limits, notes))
        by_id = {entry.book_id: entry for entry in entries}
        passages: list[Passage] = []
        weights = [1.0, dense_weight(*rankings)] if mode == "hybrid" else [1.0]
        for (book_id, index), score in rrf_fuse(rankings, weights):
            if len(passages) == k:
                break
            loaded = self.loaded(by_id[book_id])
            add_passage(passages, Passage(
                book_id=book_id, book=loaded.entry.title, chapter=int(loaded.chapter[index]),
                chapter_title=loaded.chapter_title[index], start=int(loaded.start[index]),
                end=int(loaded.end[index]), text=loaded.chunk_text(index), score=score,
                lexical_rank=_rank_in(rankings[0], (book_id, index)) if mode != "dense" else None,
                dense_rank=_rank_in(rankings[-1], (book_id, index)) if mode != "bm25" else None,
            ), loaded.text)
        return Retrieval(passages, notes, self.rarity(question, entries))

    def scope_of_all(self) -> Scope:
        """Every indexed book, read to the end (the command line's default; the app always passes the reader's)."""
        return Scope.whole(entry.title for entry in self.books())

    def rarity(self, question: str, entries: list[BookEntry]) -> dict[str, float]:
        """How rare each of the question's keywords is in the books (BM25 IDF, averaged over them)."""
        tokens = set(query_tokens(question))
        per_book = [self.loaded(entry).lexical.rarity(tokens) for entry in entries]
        return {token: sum(book[token] for book in per_book) / len(per_book) for token in tokens}

    def _lexical_ranking(
        self, question: str, entries: list[BookEntry], depth: int, limits: dict[str, int | None]
    ) -> list[tuple[str, int]]:
        hits = []
        for entry in entries:
            loaded, max_chapter = self.loaded(entry), limits[entry.book_id]
            allowed = None if max_chapter is None else loaded.chapter <= max_chapter
            hits += [(score, entry.book_id, index) for index, score in loaded.lexical.search(question, depth, allowed)]
        return [(book_id, index) for _, book_id, index in sorted(hits, key=lambda h: -h[0])[:depth]]

    def _dense_ranking(
        self, question: str, entries: list[BookEntry], depth: int, limits: dict[str, int | None], notes: list[str]
    ) -> list[tuple[str, int]]:
        store = vector_store_label(self.settings.chroma_url)
        if self.manifest.vector_store != store:
            built = self.manifest.vector_store
            notes.append(f"向量在 {built}，设置指向 {store}，本次仅用关键词检索（可用 gen_chroma.py --rebuild 重建）"
                         f"/ the vectors are in {built} but settings point to {store}: keyword search only "
                         "(rebuild with gen_chroma.py --rebuild)")
            return []
        ready = [e for e in entries if self.dense_ready(e)]
        for entry in entries:
            if entry not in ready:
                notes.append(
                    f"《{entry.title}》的向量索引尚未完成，本次仅用关键词检索 / vectors for {entry.title} are not "
                    "ready: keyword search only"
                )
        embeddings = self.embeddings() if ready else None
        if embeddings is None:
            if self._embedding_error:
                notes.append(self._embedding_error)
            return []
        vector = embeddings.embed_query(question)
        hits = []
        try:
            for entry in ready:
                hits += self._bounded(
                    lambda e=entry: self._dense_hits(e, embeddings, vector, depth, limits[e.book_id]))
        except VectorStoreUnavailable as error:
            notes.append(f"{error}（本次仅用关键词检索 / keyword search only）")
            return []
        except httpx.HTTPError as error:  # the Chroma server went away after we connected
            notes.append(f"Chroma 服务器出错，本次仅用关键词检索 / the Chroma server failed ({type(error).__name__}): "
                         "keyword search only")
            return []
        ranking = dict.fromkeys((book_id, index) for _, book_id, index in sorted(hits))  # best window per chunk
        return list(ranking)[:depth]

    def _bounded(self, search: Callable[[], list[tuple[float, str, int]]]) -> list[tuple[float, str, int]]:
        """Run a dense search; on a Chroma server, give up after ``SERVER_TIMEOUT_S`` (its client never times out)."""
        url = self.settings.chroma_url
        if vector_store_label(url) == LOCAL_STORE:
            return search()
        try:
            return _SERVER_SEARCHES.submit(search).result(timeout=SERVER_TIMEOUT_S)
        except concurrent.futures.TimeoutError:
            mark_server_failed(url)
            raise VectorStoreUnavailable(
                f"Chroma 服务器 {vector_store_label(url)} {SERVER_TIMEOUT_S:g} 秒内没有回应 / the Chroma server did "
                f"not answer within {SERVER_TIMEOUT_S:g} s"
            ) from None

    def _dense_hits(
        self, entry: BookEntry, embeddings: Embeddings, vector: list[float], depth: int, max_chapter: int | None
    ) -> list[tuple[float, str, int]]:
        """(distance, book, chunk) for the nearest windows, never past ``max_chapter``.

        Several windows share a chunk, so 3 × depth windows are fetched. Under a spoiler limit that leaves
        most of the book visible, fetching more and dropping later chapters here is much faster than
        Chroma's metadata filter on a large book; a tight limit uses the filter, which is exact.
        """
        client = chroma_client(self.persist_dir, self.settings.chroma_url)
        store = Chroma(client=client, collection_name=entry.collection, embedding_function=embeddings)
        chapters = self.loaded(entry).chapter
        visible = 1.0 if max_chapter is None else float(np.mean(chapters <= max_chapter))
        if visible == 0.0:
            return []
        if visible >= 0.25:
            fetch = int(3 * depth / visible) + 1
            found = store.similarity_search_by_vector_with_relevance_scores(vector, k=fetch)
            hits = [(distance, entry.book_id, int(doc.metadata["chunk"])) for doc, distance in found]
            hits = [hit for hit in hits if max_chapter is None or chapters[hit[2]] <= max_chapter]
            if max_chapter is None or len({hit[2] for hit in hits}) >= depth or len(found) < fetch:
                return hits
        where = {"chapter": {"$lte": int(max_chapter)}}
        found = store.similarity_search_by_vector_with_relevance_scores(vector, k=3 * depth, filter=where)
        return [(distance, entry.book_id, int(doc.metadata["chunk"])) for doc, distance in found]


def _key(entry: BookEntry) -> tuple[str, int]:
    """What a loaded book depends on: its version and its lexical index's version."""
    return entry.version_dir, entry.lexical_version


def _rank_in(ranking: list[tuple[str, int]], key: tuple[str, int]) -> int | None:
    try:
        return ranking.index(key) + 1
    except ValueError:
        return None

