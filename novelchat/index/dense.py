"""The dense phase of a build: each book's vector windows embedded into its Chroma collection, resumably.

What a collection already holds is never embedded again, so a build that was interrupted (even by kill -9) carries
on where it stopped.
"""

from __future__ import annotations

from dataclasses import dataclass

import httpx
from langchain_core.embeddings import Embeddings

from novelchat.books.novel import make_splitter
from novelchat.config import Settings
from novelchat.index.embeddings import EmbeddingUnavailable, make_embeddings
from novelchat.index.plan import BuildPlan
from novelchat.index.report import BuildReport, IndexBuildError, ProgressFn
from novelchat.index.store import (
    BookEntry,
    Manifest,
    VectorStoreUnavailable,
    chroma_client,
    load_book,
    save_manifest,
)


def dense_phase(
    settings: Settings,
    manifest: Manifest,
    plan: BuildPlan,
    staged: list[BookEntry],
    report: BuildReport,
    progress: ProgressFn | None,
) -> None:
    """Embed the books the plan says, resuming from what Chroma already holds.

    A staged entry (a changed or re-split book) replaces its old version in the manifest once its vectors are
    complete; what cannot be embedded now (no embedder, no vector store) is a warning and ``report.dense_pending``.
    """
    embed = {book.file for book in plan.books if book.embed}
    replaced = {entry.book_id for entry in staged}  # an old version about to be swapped out is not embedded
    todo = [e for e in manifest.books.values() if e.file in embed and e.book_id not in replaced] + staged
    if not todo:
        return
    try:
        embeddings = make_embeddings(settings)
        chroma_client(settings.persist_dir, settings.chroma_url)
    except (EmbeddingUnavailable, VectorStoreUnavailable) as error:
        report.warnings.append(f"向量索引推迟 / dense vectors postponed: {error}")
        report.dense_pending = [e.title for e in todo]
        return
    dimension = len(embeddings.embed_query("维度"))
    if manifest.embedding_dim not in (None, dimension):
        raise IndexBuildError(
            f"嵌入维度变了（{manifest.embedding_dim} → {dimension}）；加 --rebuild 重建 / embedding dimension "
            "changed; run with --rebuild"
        )
    manifest.embedding_dim = dimension
    for entry in todo:
        try:
            _embed_book(settings, entry, embeddings, progress)
        except httpx.HTTPError as error:  # the Chroma server went away mid-build: what it holds is kept
            report.warnings.append(f"向量索引中断，下次运行会接着做 / dense vectors interrupted, the next run resumes: "
                                   f"the Chroma server failed ({type(error).__name__})")
            report.dense_pending = [e.title for e in todo if not e.dense_complete]
            return
        if entry in staged:
            staged.remove(entry)
            manifest.books[entry.book_id] = entry
        save_manifest(settings.persist_dir, manifest)
        report.changed = True


@dataclass(frozen=True)
class Window:
    """One dense vector's text: its id (``chunk-window``), text and the metadata that maps a hit to its chunk."""

    id: str
    text: str
    metadata: dict


def missing_windows(settings: Settings, entry: BookEntry, done: set[str]) -> list[Window]:
    """The windows of a book version that its collection does not hold yet (ids in ``done``), in chunk order.

    Each chunk gets one vector per window of ``dense_window`` characters (id ``chunk-window``): short
    windows give sharper vectors than one vector per 600-character chunk, and a hit maps back to its chunk.
    """
    book = load_book(settings.persist_dir, entry)
    window = make_splitter(settings.dense_window, settings.dense_window // 5) if settings.dense_window else None
    windows = []
    for index in range(entry.chunks):
        chunk_text = book.chunk_text(index)
        metadata = {"chunk": index, "chapter": int(book.chapter[index]), "chapter_title": book.chapter_title[index]}
        for number, piece in enumerate(window.split_text(chunk_text) if window else [chunk_text]):
            if f"{index}-{number}" not in done:
                windows.append(Window(f"{index}-{number}", piece, metadata))
    return windows


def embedding_batches(windows: list[Window], batch_size: int) -> list[list[list[Window]]]:
    """The windows grouped by text (a repeated passage, a refrain, is embedded once for all its ids), the groups
    batched by the chunk of their first window: ``batch_size`` chunks' windows per batch, in chunk order."""
    by_text: dict[str, list[Window]] = {}
    for window in windows:
        by_text.setdefault(window.text, []).append(window)
    batches: dict[int, list[list[Window]]] = {}
    for group in by_text.values():
        batches.setdefault(group[0].metadata["chunk"] // batch_size, []).append(group)
    return list(batches.values())


def _embed_book(
    settings: Settings, entry: BookEntry, embeddings: Embeddings, progress: ProgressFn | None
) -> None:
    """Add the missing vectors of one book version to its Chroma collection, a batch of chunks at a time."""
    collection = chroma_client(settings.persist_dir, settings.chroma_url).get_or_create_collection(
        name=entry.collection, embedding_function=None)
    done, reported = set(collection.get(include=[])["ids"]), 0
    for batch in embedding_batches(missing_windows(settings, entry, done), settings.embedding_batch_size):
        vectors = embeddings.embed_documents([group[0].text for group in batch])
        rows = [(window, vector) for group, vector in zip(batch, vectors, strict=True) for window in group]
        collection.upsert(ids=[w.id for w, _ in rows], embeddings=[v for _, v in rows],
                          documents=[w.text for w, _ in rows], metadatas=[w.metadata for w, _ in rows])
        reported = max(group[0].metadata["chunk"] for group in batch) + 1
        if progress:
            progress("dense", entry.title, reported, entry.chunks)
    if progress and reported < entry.chunks:
        progress("dense", entry.title, entry.chunks, entry.chunks)
    entry.dense_count = entry.chunks
