"""Hybrid retrieval over the on-disk index: BM25 and Chroma, fused by reciprocal rank (the dense list weighted by how
much it agrees with the keyword list); no two passages show the same stretch of the book.

The reader's scope (``scope.Scope``: the books and, for each, the last chapter read) is a hard filter in both
retrievers; there is no default for it. A book whose vectors are not complete (or were made by another embedding
model, or live in another store, or whose Chroma server or embeddings server is down) is searched lexically only, and
the result says so in ``notes``.
"""

from __future__ import annotations

import logging
import sys
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from pathlib import Path
from typing import Literal

import httpx
import numpy as np
from langchain_chroma import Chroma
from langchain_core.embeddings import Embeddings

from novelchat.config import Settings
from novelchat.errors import NovelChatError
from novelchat.index.embeddings import EmbeddingUnavailable, make_embeddings
from novelchat.index.plan import index_settings, vector_mismatch
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
from novelchat.retrieval.fusion import Key, dense_weight, rank_in, rrf_fuse
from novelchat.retrieval.passages import Passage, Retrieval, add_passage
from novelchat.retrieval.scope import Scope
from novelchat.text.query import Query, query_tokens

log = logging.getLogger(__name__)
Mode = Literal["hybrid", "bm25", "dense"]
EMBEDDING_RETRY_S = 30.0  # as a failed Chroma server (index_store.SERVER_RETRY_S)
SEARCH_WORKERS = 4  # dense searches on a Chroma server run in the library's pool, so a hung one can be given up on


class NoIndexError(NovelChatError, RuntimeError):
    """There is no index (or no such book); ``friendly`` is one line."""


class Library:
    """The index of one folder opened for reading; reloads itself when the manifest changes. Safe to share between
    threads; ``close()`` stops the pool its searches on a Chroma server run in."""

    def __init__(self, settings: Settings):
        self.settings = settings
        self.persist_dir = Path(settings.persist_dir)
        self._lock = threading.Lock()  # the manifest, the loaded books, the per-book locks, the pool; never disk I/O
        self._manifest_mtime = -1.0
        self.manifest = Manifest()
        self._books: dict[str, LoadedBook] = {}
        self._loading: dict[str, threading.Lock] = {}  # book_id -> held while that book is read from disk
        self._searches: ThreadPoolExecutor | None = None
        self._embedding_lock = threading.Lock()  # the embedder is made by one thread at a time
        self._embeddings: Embeddings | None = None
        self._embedding_error: str | None = None
        self._embedding_retry_at = float("-inf")
        self.clock: Callable[[], float] = time.monotonic

    def close(self) -> None:
        """Stop the pool of server searches, if one was started (a later search starts another)."""
        with self._lock:
            pool, self._searches = self._searches, None
        if pool is not None:
            pool.shutdown(wait=False, cancel_futures=True)

    # --- what is indexed --------------------------------------------------------------------------
    def refresh(self) -> Manifest:
        """Re-read the manifest if a build changed it."""
        path = self.persist_dir / MANIFEST_NAME
        mtime = path.stat().st_mtime if path.exists() else 0.0
        if mtime != self._manifest_mtime:
            manifest = load_manifest(self.persist_dir)  # read outside the lock, swapped in under it
            with self._lock:
                self.manifest, self._manifest_mtime = manifest, mtime
                current = {_key(e) for e in manifest.books.values()}
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
        """The book's text, chunk metadata and lexical index, read from disk once. The reading holds only that
        book's own lock: other books, and the manifest, are not held up by it."""
        book = self._cached(entry)
        if book is None:
            with self._book_lock(entry.book_id):
                book = self._cached(entry)  # another thread may have loaded it meanwhile
                if book is None:
                    book = load_book(self.persist_dir, entry)
                    with self._lock:
                        self._books[entry.book_id] = book
        return book

    def _cached(self, entry: BookEntry) -> LoadedBook | None:
        with self._lock:
            book = self._books.get(entry.book_id)
        return book if book is not None and _key(book.entry) == _key(entry) else None

    def _book_lock(self, book_id: str) -> threading.Lock:
        with self._lock:
            return self._loading.setdefault(book_id, threading.Lock())

    def embeddings(self) -> Embeddings | None:
        """The query embedder, made once (by one thread); None (with a note) when it cannot be loaded. A load that
        failed is tried again ``EMBEDDING_RETRY_S`` later (a blip does not turn vectors off until a restart), not at
        every question."""
        if self._embeddings is None and self.clock() >= self._embedding_retry_at:
            with self._embedding_lock:
                if self._embeddings is None and self.clock() >= self._embedding_retry_at:  # not made meanwhile
                    try:
                        self._embeddings, self._embedding_error = make_embeddings(self.settings), None
                    except EmbeddingUnavailable as error:
                        log.warning("no query embedder (tried again in %g s): %s", EMBEDDING_RETRY_S, error)
                        self._embedding_failed(str(error))
        return self._embeddings

    def _embedding_failed(self, note: str) -> None:
        """Vectors off for ``EMBEDDING_RETRY_S``: the embedder is dropped and ``note`` given meanwhile."""
        self._embeddings, self._embedding_error = None, note
        self._embedding_retry_at = self.clock() + EMBEDDING_RETRY_S

    def _query_vector(self, embeddings: Embeddings, question: str, notes: list[str]) -> list[float] | None:
        """The question's vector; None, with a note, when the embedder's server is down or refuses. Vectors are then
        off for ``EMBEDDING_RETRY_S``, so the next questions do not wait on a dead server."""
        try:
            return embeddings.embed_query(question)
        except _service_failures() as error:
            log.warning("the query embedder failed; keyword search only for %g s", EMBEDDING_RETRY_S, exc_info=True)
            note = (f"嵌入服务不可用，本次仅用关键词检索 / the embeddings server failed ({type(error).__name__}): "
                    "keyword search only")
            with self._embedding_lock:
                self._embedding_failed(note)
            notes.append(note)
            return None

    # --- retrieval ----------------------------------------------------------------------------------
    def retrieve(self, question: str | Query, scope: Scope, k: int = 5, mode: Mode = "hybrid") -> Retrieval:
        """The k best passages for the question from the books in ``scope``, never past a book's chapter limit (the
        question is parsed once, here, unless the caller passes it parsed)."""
        query = Query.parse(question)
        if not scope.read_to:
            raise NoIndexError("还没有索引任何书：先运行 python gen_chroma.py / nothing indexed yet: run gen_chroma.py")
        entries = [self.find_book(title) for title in scope.titles]
        limits = {entry.book_id: limit for entry, (_, limit) in zip(entries, scope.read_to, strict=True)}
        depth = max(4 * k, 20)
        notes: list[str] = []
        rankings = []
        if mode in ("hybrid", "bm25"):
            rankings.append(self._lexical_ranking(query, entries, depth, limits))
        if mode in ("hybrid", "dense"):
            rankings.append(self._dense_ranking(query.text, entries, depth, limits, notes))
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
                lexical_rank=rank_in(rankings[0], (book_id, index)) if mode != "dense" else None,
                dense_rank=rank_in(rankings[-1], (book_id, index)) if mode != "bm25" else None,
            ), loaded.text)
        return Retrieval(passages, notes, self.rarity(query, entries))

    def scope_of_all(self) -> Scope:
        """Every indexed book, read to the end (the command line's default; the app always passes the reader's)."""
        return Scope.whole(entry.title for entry in self.books())

    def rarity(self, question: str | Query, entries: list[BookEntry]) -> dict[str, float]:
        """How rare each of the question's keywords is in the books (BM25 IDF, averaged over them)."""
        tokens = set(query_tokens(question))
        per_book = [self.loaded(entry).lexical.rarity(tokens) for entry in entries]
        return {token: sum(book[token] for book in per_book) / len(per_book) for token in tokens}

    def _lexical_ranking(
        self, query: Query, entries: list[BookEntry], depth: int, limits: dict[str, int | None]
    ) -> list[Key]:
        hits = []
        for entry in entries:
            loaded, max_chapter = self.loaded(entry), limits[entry.book_id]
            allowed = None if max_chapter is None else loaded.chapter <= max_chapter
            hits += [(score, entry.book_id, index) for index, score in loaded.lexical.search(query, depth, allowed)]
        return [(book_id, index) for _, book_id, index in sorted(hits, key=lambda h: -h[0])[:depth]]

    def _dense_ranking(
        self, question: str, entries: list[BookEntry], depth: int, limits: dict[str, int | None], notes: list[str]
    ) -> list[Key]:
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
        vector = self._query_vector(embeddings, question, notes)
        if vector is None:
            return []
        hits = []
        try:
            for entry in ready:
                hits += self._bounded(
                    lambda e=entry: self._dense_hits(e, embeddings, vector, depth, limits[e.book_id]))
        except VectorStoreUnavailable as error:
            log.warning("dense search failed, keyword search only: %s", error)
            notes.append(f"{error}（本次仅用关键词检索 / keyword search only）")
            return []
        except httpx.HTTPError as error:  # the Chroma server went away after we connected
            log.warning("the Chroma server failed, keyword search only", exc_info=True)
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
            return self._search_pool().submit(search).result(timeout=SERVER_TIMEOUT_S)
        except FutureTimeout:
            mark_server_failed(url)
            raise VectorStoreUnavailable(
                f"Chroma 服务器 {vector_store_label(url)} {SERVER_TIMEOUT_S:g} 秒内没有回应 / the Chroma server did "
                f"not answer within {SERVER_TIMEOUT_S:g} s"
            ) from None

    def _search_pool(self) -> ThreadPoolExecutor:
        """The library's pool for server searches, started at the first one."""
        with self._lock:
            if self._searches is None:
                self._searches = ThreadPoolExecutor(max_workers=SEARCH_WORKERS, thread_name_prefix="chroma-search")
            return self._searches

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


def _service_failures() -> tuple[type[Exception], ...]:
    """What an embedder raises when its server is down or refuses: network and HTTP errors, OpenAI API errors."""
    openai = sys.modules.get("openai")  # loaded by the openai backend only: no other embedder raises its errors
    return (OSError, httpx.HTTPError, *((openai.OpenAIError,) if openai is not None else ()))

