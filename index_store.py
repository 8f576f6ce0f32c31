"""The on-disk index: layout, manifest, locking, and loading a book for retrieval.

```
chroma/
  manifest.json          what is indexed: embedding model, splitter, one entry per book (atomic swaps)
  chroma.sqlite3 …       Chroma PersistentClient store: one collection per book version
  books/<id>-<sha12>/    immutable per book version: text.txt, chunks.jsonl, bm25/ (lexical index)
  .lock                  one writer at a time
```
A book version directory is complete before the manifest names it, and the manifest is replaced
atomically, so a build killed at any moment leaves the previous index usable.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import logging
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from functools import lru_cache
from pathlib import Path

import chromadb
import numpy as np
from chromadb.config import Settings as ChromaSettings

from lexical import LexicalIndex
from novel import Chunk

log = logging.getLogger(__name__)

MANIFEST_NAME = "manifest.json"
MANIFEST_VERSION = 1


@dataclass
class BookEntry:
    """One indexed book version, as the manifest records it."""

    book_id: str
    title: str
    file: str
    sha256: str
    encoding: str
    chars: int
    chapters: int
    last_chapter: int
    chunks: int
    version_dir: str
    collection: str
    dense_count: int = 0

    @property
    def dense_complete(self) -> bool:
        return self.dense_count >= self.chunks


@dataclass
class Manifest:
    """What the index holds; ``embedding`` is the spec label its vectors were made with."""

    embedding: str | None = None
    embedding_dim: int | None = None
    splitter: dict = field(default_factory=dict)
    books: dict[str, BookEntry] = field(default_factory=dict)


def load_manifest(persist_dir: Path) -> Manifest:
    """The manifest, or an empty one when there is no index yet."""
    path = persist_dir / MANIFEST_NAME
    if not path.exists():
        return Manifest()
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
        books = {book_id: BookEntry(**entry) for book_id, entry in raw.get("books", {}).items()}
        return Manifest(raw.get("embedding"), raw.get("embedding_dim"), raw.get("splitter", {}), books)
    except (ValueError, TypeError, AttributeError):  # edited by hand or damaged: the corpus is the source of truth
        log.warning("unreadable %s: treating the index as empty; the next build re-indexes the corpus", path)
        return Manifest()


def save_manifest(persist_dir: Path, manifest: Manifest) -> None:
    """Write the manifest atomically (temp file, fsync, rename)."""
    payload = {"version": MANIFEST_VERSION, **asdict(manifest)}
    fd, tmp = tempfile.mkstemp(dir=persist_dir, prefix=".manifest-", suffix=".tmp")
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        json.dump(payload, handle, ensure_ascii=False, indent=1)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, persist_dir / MANIFEST_NAME)


@contextmanager
def writer_lock(persist_dir: Path) -> Iterator[None]:
    """Hold the index's writer lock (another build waits; released even on crash)."""
    persist_dir.mkdir(parents=True, exist_ok=True)
    with (persist_dir / ".lock").open("w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


@lru_cache(maxsize=8)
def _client(path: str) -> chromadb.ClientAPI:
    return chromadb.PersistentClient(path=path, settings=ChromaSettings(anonymized_telemetry=False))


def chroma_client(persist_dir: Path) -> chromadb.ClientAPI:
    """One Chroma PersistentClient per index folder per process, telemetry off."""
    return _client(str(persist_dir.resolve()))


def book_id_for(file_name: str) -> str:
    """A stable ASCII id for a book file (Chroma names allow no Chinese)."""
    return "b" + hashlib.sha1(file_name.encode("utf-8")).hexdigest()[:10]


def collection_name(version_dir: str, embedding_label: str) -> str:
    """The Chroma collection of one book version (text + splitter settings) under one embedding model."""
    model_key = hashlib.sha1(embedding_label.encode("utf-8")).hexdigest()[:8]
    return f"nc-{version_dir}-{model_key}"


def write_book_version(persist_dir: Path, name: str, text: str, chunks: list[Chunk]) -> Path:
    """Write text, chunk metadata and the lexical index into ``books/<name>`` atomically."""
    books = persist_dir / "books"
    books.mkdir(parents=True, exist_ok=True)
    final = books / name
    if final.exists():  # left by a build killed before its manifest swap
        shutil.rmtree(final)
    staging = Path(tempfile.mkdtemp(dir=books, prefix=".staging-"))
    (staging / "text.txt").write_text(text, encoding="utf-8")
    with (staging / "chunks.jsonl").open("w", encoding="utf-8") as handle:
        for chunk in chunks:
            record = {"chapter": chunk.chapter, "chapter_title": chunk.chapter_title,
                      "start": chunk.start, "end": chunk.end}
            handle.write(json.dumps(record, ensure_ascii=False) + "\n")
    lexical_dir = staging / "bm25"
    lexical_dir.mkdir()
    LexicalIndex.build(chunk.text for chunk in chunks).save(lexical_dir)
    os.replace(staging, final)
    return final


def collect_garbage(persist_dir: Path, manifest: Manifest) -> None:
    """Remove book versions and collections the manifest no longer names (and leftover staging)."""
    keep_dirs = {entry.version_dir for entry in manifest.books.values()}
    books = persist_dir / "books"
    if books.exists():
        for folder in books.iterdir():
            if folder.name not in keep_dirs:
                shutil.rmtree(folder, ignore_errors=True)
    keep_collections = {entry.collection for entry in manifest.books.values()}
    client = chroma_client(persist_dir)
    for collection in client.list_collections():
        name = collection if isinstance(collection, str) else collection.name
        if name.startswith("nc-") and name not in keep_collections:
            client.delete_collection(name)


@dataclass
class LoadedBook:
    """A book ready for retrieval: its text, chunk metadata as arrays, and its lexical index."""

    entry: BookEntry
    text: str
    chapter: np.ndarray
    chapter_title: list[str]
    start: np.ndarray
    end: np.ndarray
    lexical: LexicalIndex

    def chunk_text(self, index: int) -> str:
        return self.text[self.start[index]: self.end[index]]


def load_book(persist_dir: Path, entry: BookEntry) -> LoadedBook:
    """Load one book version's text, chunk metadata and lexical index from disk."""
    folder = persist_dir / "books" / entry.version_dir
    records = [json.loads(line) for line in (folder / "chunks.jsonl").open(encoding="utf-8")]
    return LoadedBook(
        entry=entry,
        text=(folder / "text.txt").read_text(encoding="utf-8"),
        chapter=np.array([r["chapter"] for r in records], dtype=np.int32),
        chapter_title=[r["chapter_title"] for r in records],
        start=np.array([r["start"] for r in records], dtype=np.int64),
        end=np.array([r["end"] for r in records], dtype=np.int64),
        lexical=LexicalIndex.load(folder / "bm25"),
    )
