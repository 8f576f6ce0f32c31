"""What a build will do, decided in one place.

``plan_build`` compares what the index holds (its manifest) with the corpus files and the settings, and says per
book what a build does: new, changed, re-split, re-embed, keywords re-indexed, unchanged, removed or skipped, and
whether the build must be refused (another embedding model or vector store, without ``--rebuild``). Both
``index.build.pending_work`` (what ``novelchat start`` announces) and ``index.build.build_index`` (what it then
does) follow this plan, and so does the reader's "are these vectors usable" check. Pure: plain data in, plan out.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

from novelchat.config import Settings
from novelchat.index.embeddings import embedding_spec
from novelchat.index.lexical import LEXICAL_VERSION
from novelchat.index.store import BookEntry, Manifest, vector_store_label

SPLITTER_VERSION = 1  # bump when chapter detection or splitting changes, to re-split every book


class Action(StrEnum):
    """What a build does with one book; the value is its status in the summary table."""

    NEW = "new"  # a file the index does not hold: read, split, embed
    CHANGED = "changed"  # the file's bytes changed: its new version is read, split and embedded
    RESPLIT = "re-split"  # same bytes, other chunking (or --rebuild): split and embedded again
    REEMBED = "re-embed"  # same chunks; its vectors are missing or were made by another model or store
    KEYWORDS = "keywords re-indexed"  # a newer tokenizer: keywords rebuilt, vectors kept
    UNCHANGED = "unchanged"
    REMOVED = "removed"  # the file is gone: the book leaves the index
    SKIPPED = "skipped"  # the file cannot be read as a book; what the index holds stays


WRITES_VERSION = (Action.NEW, Action.CHANGED, Action.RESPLIT)
"""The actions that read the file and write a new book version."""


@dataclass(frozen=True)
class IndexSettings:
    """What an index must have been built with to serve the settings."""

    embedding: str  # the embedding spec's label
    vector_store: str  # "local" or the Chroma server's URL
    splitter: dict  # how books are cut into chunks and vector windows


@dataclass(frozen=True)
class CorpusFile:
    """A novel file as the planner sees it: the sha256 of its bytes, or why it cannot be read."""

    name: str
    sha256: str | None = None
    problem: str = ""


@dataclass(frozen=True)
class BookPlan:
    """What the build does with one file (or with an indexed book whose file is gone)."""

    file: str
    action: Action
    embed: bool = False  # whether its vectors are made in this build
    old: BookEntry | None = None  # the index's entry for this file name


@dataclass(frozen=True)
class BuildPlan:
    """What a build does: per book, in file-name order, removed books last; or why it is refused."""

    wanted: IndexSettings
    books: tuple[BookPlan, ...] = ()
    refusal: str = ""  # non-empty: the build would change nothing and fail with this line
    reset_vectors: bool = False  # every book's vectors are made anew (another model or store, or a first build)

    @property
    def work(self) -> tuple[BookPlan, ...]:
        """The books the build touches: every one that is not unchanged."""
        return tuple(book for book in self.books if book.action is not Action.UNCHANGED)

    def describe(self) -> list[str]:
        """One entry per book the build touches, as "渡口.txt (re-split)", or the refusal."""
        if self.refusal:
            return [self.refusal]
        return [f"{display_name(book.file)} ({book.action})" for book in self.work]


def splitter_settings(settings: Settings) -> dict:
    """The settings that decide how books are cut; a change re-splits (and re-embeds) every book."""
    return {"chunk_size": settings.chunk_size, "chunk_overlap": settings.chunk_overlap,
            "dense_window": settings.dense_window, "version": SPLITTER_VERSION}


def index_settings(settings: Settings) -> IndexSettings:
    """What the index must have been built with to serve ``settings``."""
    return IndexSettings(embedding_spec(settings).label, vector_store_label(settings.chroma_url),
                         splitter_settings(settings))


def vector_mismatch(manifest: Manifest, wanted: IndexSettings) -> str:
    """Why the index's vectors cannot serve ``wanted`` (another embedding model or vector store); "" if they can."""
    for what, built, want in [("嵌入模型 / embedding model", manifest.embedding, wanted.embedding),
                              ("向量库 / vector store", manifest.vector_store, wanted.vector_store)]:
        if built != want:
            chinese, english = what.split(" / ")
            return (f"索引的{chinese}是 {built}，当前设置为 {want} / the index's {english} is {built} "
                    f"but settings say {want}")
    return ""


def plan_build(
    manifest: Manifest, files: Sequence[CorpusFile], wanted: IndexSettings, *, rebuild: bool = False,
    dense: bool = True,
) -> BuildPlan:
    """What ``build_index(rebuild=…, dense=…)`` does to an index holding ``manifest``, given the corpus ``files``.

    Another embedding model or vector store is refused unless ``rebuild``; with it every book is re-split and
    re-embedded. A lexical-only build (``dense=False``) embeds nothing, so a book whose vectors alone are missing is
    unchanged for it.
    """
    mismatch = vector_mismatch(manifest, wanted)
    if mismatch and manifest.books and not rebuild:
        return BuildPlan(wanted, refusal=f"{mismatch}；加 --rebuild 重建 / run with --rebuild")
    resplit = rebuild or manifest.splitter != wanted.splitter
    by_file = {entry.file: entry for entry in manifest.books.values()}
    books = [_plan_book(file, by_file.get(file.name), resplit, bool(mismatch), dense)
             for file in sorted(files, key=lambda f: f.name)]
    names = {file.name for file in files}
    books += [BookPlan(entry.file, Action.REMOVED, old=entry) for entry in by_file.values() if entry.file not in names]
    return BuildPlan(wanted, tuple(books), reset_vectors=bool(mismatch))


def _plan_book(file: CorpusFile, old: BookEntry | None, resplit: bool, reset: bool, dense: bool) -> BookPlan:
    """One file's action; ``reset``: every vector is made anew."""
    stale = old is not None and (reset or not old.dense_complete)  # its indexed version lacks usable vectors
    if file.problem or file.sha256 is None:
        return BookPlan(file.name, Action.SKIPPED, dense and stale, old)
    if old is None:
        return BookPlan(file.name, Action.NEW, dense)
    if old.sha256 != file.sha256:
        return BookPlan(file.name, Action.CHANGED, dense, old)
    if resplit:
        return BookPlan(file.name, Action.RESPLIT, dense, old)
    if old.lexical_version != LEXICAL_VERSION:
        return BookPlan(file.name, Action.KEYWORDS, dense and stale, old)
    if dense and stale:
        return BookPlan(file.name, Action.REEMBED, True, old)
    return BookPlan(file.name, Action.UNCHANGED, old=old)


def display_name(name: str) -> str:
    """A file name as it can be shown: bytes that are not UTF-8 as ``\\xNN``."""
    return os.fsencode(name).decode("utf-8", errors="backslashreplace")
