"""The on-disk index: layout, manifest, locking, and loading a book for retrieval.

```
chroma/
  manifest.json          what is indexed: embedding model, splitter, one entry per book (atomic swaps)
  chroma.sqlite3 …       Chroma PersistentClient store: one collection per book version
                         (or, with a ``chroma_url``, the same collections on a Chroma server)
  books/<id>-<sha12>/    per book version: text.txt, chunks.jsonl (immutable), bm25-v2/ (lexical index,
                         rebuilt beside the old one when the tokenizer changes)
  .lock                  one writer at a time
```
A book version directory is complete before the manifest names it, and the manifest is replaced
atomically, so a build killed at any moment leaves the previous index usable. What a killed or failed
build leaves behind is removed by the next one. Writes go through ``novelchat.index.writes``: one writer at a
time, and a write that fails (disk full, read-only folder) is one ``IndexWriteError`` line.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import tempfile
import time
import uuid
from dataclasses import asdict, dataclass, field
from functools import lru_cache
from pathlib import Path
from urllib.parse import urlsplit

import chromadb
import httpx
import numpy as np
from chromadb.config import Settings as ChromaSettings

from novelchat.books.novel import Chunk
from novelchat.errors import NovelChatError
from novelchat.index.lexical import LEXICAL_VERSION, LexicalIndex
from novelchat.index.writes import remove_path, staging, writing

log = logging.getLogger(__name__)

MANIFEST_NAME = "manifest.json"
MANIFEST_VERSION = 1
LOCAL_STORE = "local"
SERVER_TIMEOUT_S = 5.0
SERVER_RETRY_S = 30.0
_server_failed_at: dict[str, float] = {}


def new_index_id() -> str:
    """A short random id that names this index's collections."""
    return uuid.uuid4().hex[:8]


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
    lexical_version: int = 1  # entries written before lexical versions had version 1
    text_sha256: str = ""  # of the decoded text, to find the same book in another file; "" in older manifests

    @property
    def dense_complete(self) -> bool:
        return self.dense_count >= self.chunks


@dataclass
class Manifest:
    """What the index holds; ``embedding`` is the spec label its vectors were made with.

    ``vector_store`` says where the vectors live (``local`` or a Chroma server's URL); ``index_id`` keeps this
    index's collections apart from other indexes sharing that server.
    """

    embedding: str | None = None
    embedding_dim: int | None = None
    splitter: dict = field(default_factory=dict)
    books: dict[str, BookEntry] = field(default_factory=dict)
    vector_store: str = LOCAL_STORE
    index_id: str = field(default_factory=new_index_id)


def load_manifest(persist_dir: Path) -> Manifest:
    """The manifest, or an empty one when there is no index yet."""
    path = persist_dir / MANIFEST_NAME
    if not path.exists():
        return Manifest()
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
        books = {book_id: BookEntry(**entry) for book_id, entry in raw.get("books", {}).items()}
        return Manifest(
            embedding=raw.get("embedding"), embedding_dim=raw.get("embedding_dim"), splitter=raw.get("splitter", {}),
            books=books, vector_store=raw.get("vector_store", LOCAL_STORE), index_id=raw.get("index_id", ""),
        )
    except (ValueError, TypeError, AttributeError):  # edited by hand or damaged: the corpus is the source of truth
        log.warning("unreadable %s: treating the index as empty; the next build re-indexes the corpus", path)
        return Manifest()


def save_manifest(persist_dir: Path, manifest: Manifest) -> None:
    """Write the manifest atomically (temp file, fsync, rename)."""
    payload = {"version": MANIFEST_VERSION, **asdict(manifest)}
    with writing(persist_dir):
        fd, tmp = tempfile.mkstemp(dir=persist_dir, prefix=".manifest-", suffix=".tmp")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                json.dump(payload, handle, ensure_ascii=False, indent=1)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, persist_dir / MANIFEST_NAME)
        finally:
            if os.path.exists(tmp):
                remove_path(Path(tmp))


class VectorStoreUnavailable(NovelChatError, RuntimeError):
    """The Chroma server named by ``chroma_url`` cannot be reached; the message is one friendly line."""


def vector_store_label(chroma_url: str) -> str:
    """Where vectors live: ``local`` (beside the index) or the Chroma server's URL, normalised."""
    if not chroma_url.strip():
        return LOCAL_STORE
    url = chroma_url.strip().rstrip("/")
    return url if "://" in url else f"http://{url}"


def chroma_client(persist_dir: Path, chroma_url: str = "") -> chromadb.ClientAPI:
    """The Chroma client of an index, one per process, telemetry off: a PersistentClient in ``persist_dir``,
    or an HttpClient when ``chroma_url`` names a server (``chroma run --path DIR --port 8000``)."""
    store = vector_store_label(chroma_url)
    if store == LOCAL_STORE:
        return _local_client(str(persist_dir.resolve()))
    return _server_client(store)


@lru_cache(maxsize=8)
def _local_client(path: str) -> chromadb.ClientAPI:
    return chromadb.PersistentClient(path=path, settings=ChromaSettings(anonymized_telemetry=False))


@lru_cache(maxsize=8)
def _server_client(url: str) -> chromadb.ClientAPI:
    """An HttpClient, after a heartbeat with a timeout (Chroma's own client waits forever on a hung server).

    A server that failed is not tried again for ``SERVER_RETRY_S``, so a hung one costs the reader one wait, not one
    per question.
    """
    if time.monotonic() - _server_failed_at.get(url, -SERVER_RETRY_S) < SERVER_RETRY_S:
        raise VectorStoreUnavailable(_unreachable_message(url, "recently unreachable"))
    try:
        httpx.get(f"{url}/api/v2/heartbeat", timeout=SERVER_TIMEOUT_S).raise_for_status()
        parts = urlsplit(url)
        https = parts.scheme == "https"
        return chromadb.HttpClient(host=parts.hostname or "localhost", port=parts.port or (443 if https else 8000),
                                   ssl=https, settings=ChromaSettings(anonymized_telemetry=False))
    except (httpx.HTTPError, ValueError) as error:
        mark_server_failed(url)
        raise VectorStoreUnavailable(_unreachable_message(url, type(error).__name__)) from error


def mark_server_failed(chroma_url: str) -> None:
    """Note that the Chroma server failed just now: it is not tried again for ``SERVER_RETRY_S``."""
    url = vector_store_label(chroma_url)
    _server_failed_at[url] = time.monotonic()
    _server_client.cache_clear()


def _unreachable_message(url: str, reason: str) -> str:
    return (f"连不上 Chroma 服务器 {url}（{reason}）；请先运行 chroma run，或清空 NOVELCHAT_CHROMA_URL / "
            f"cannot reach the Chroma server at {url}: start it (chroma run) or unset NOVELCHAT_CHROMA_URL")


def book_id_for(file_name: str) -> str:
    """A stable ASCII id for a book file (Chroma names allow no Chinese)."""
    return "b" + hashlib.sha1(file_name.encode("utf-8")).hexdigest()[:10]


def collection_name(manifest: Manifest, version_dir: str) -> str:
    """The Chroma collection of one book version (text + splitter settings) under the index's embedding model."""
    model_key = hashlib.sha1(str(manifest.embedding).encode("utf-8")).hexdigest()[:8]
    return f"{_collection_prefix(manifest)}{version_dir}-{model_key}"


def _collection_prefix(manifest: Manifest) -> str:
    return f"nc-{manifest.index_id}-" if manifest.index_id else "nc-"  # indexes made before index ids: "nc-"


def write_book_version(persist_dir: Path, name: str, text: str, chunks: list[Chunk]) -> Path:
    """Write text, chunk metadata and the lexical index into ``books/<name>`` atomically."""
    books = persist_dir / "books"
    final = books / name
    with writing(persist_dir):
        books.mkdir(parents=True, exist_ok=True)
        if final.exists():  # left by a build killed before its manifest swap
            shutil.rmtree(final)
        with staging(books) as stage:
            (stage / "text.txt").write_text(text, encoding="utf-8")
            with (stage / "chunks.jsonl").open("w", encoding="utf-8") as handle:
                for chunk in chunks:
                    record = {"chapter": chunk.chapter, "chapter_title": chunk.chapter_title,
                              "start": chunk.start, "end": chunk.end}
                    handle.write(json.dumps(record, ensure_ascii=False) + "\n")
            lexical_dir = stage / lexical_folder(LEXICAL_VERSION)
            lexical_dir.mkdir()
            LexicalIndex.build(chunk.text for chunk in chunks).save(lexical_dir)
            os.replace(stage, final)
    return final


def lexical_folder(version: int) -> str:
    """The lexical index's folder inside a book version, for a tokenizer version."""
    return "bm25" if version == 1 else f"bm25-v{version}"


def reindex_keywords(persist_dir: Path, entry: BookEntry) -> None:
    """Rebuild a book version's lexical index with the current tokenizer, beside the old one (atomic rename).

    Sets ``entry.lexical_version``; the caller saves the manifest, and ``collect_leftovers`` removes the old folder.
    """
    folder = persist_dir / "books" / entry.version_dir
    text = (folder / "text.txt").read_text(encoding="utf-8")
    final = folder / lexical_folder(LEXICAL_VERSION)
    with writing(persist_dir):
        if final.exists():  # left by a build killed before its manifest swap
            shutil.rmtree(final)
        with staging(folder) as stage:
            LexicalIndex.build(text[r["start"]: r["end"]] for r in _chunk_records(folder)).save(stage)
            os.replace(stage, final)
    entry.lexical_version = LEXICAL_VERSION


def _chunk_records(folder: Path) -> list[dict]:
    with (folder / "chunks.jsonl").open(encoding="utf-8") as handle:
        return [json.loads(line) for line in handle]


def collect_leftovers(persist_dir: Path, manifest: Manifest) -> None:
    """Remove the files no reader will use: book versions the manifest does not name, lexical indexes of older
    tokenizers, and the staging folders and manifest temp files of killed or failed builds.

    Call it holding the writer lock: no other build is writing then, so every staging folder is a leftover, and
    what the manifest names (what readers use) is kept.
    """
    kept = {entry.version_dir: entry for entry in manifest.books.values()}
    books = persist_dir / "books"
    with writing(persist_dir):
        for temp in persist_dir.glob(".manifest-*.tmp"):
            remove_path(temp)
        for folder in books.iterdir() if books.is_dir() else []:
            if folder.name not in kept or not folder.is_dir():
                remove_path(folder)
                continue
            current = lexical_folder(kept[folder.name].lexical_version)
            for part in folder.iterdir():
                if part.is_dir() and part.name != current:
                    remove_path(part)


def collect_collections(persist_dir: Path, manifest: Manifest, chroma_url: str = "") -> None:
    """Remove the Chroma collections the manifest no longer names.

    A local store belongs to this index alone; on a shared server only this index's collections are touched.
    """
    keep_collections = {entry.collection for entry in manifest.books.values()}
    prefix = "nc-" if vector_store_label(chroma_url) == LOCAL_STORE else _collection_prefix(manifest)
    client = chroma_client(persist_dir, chroma_url)
    for collection in client.list_collections():
        name = collection if isinstance(collection, str) else collection.name
        if name.startswith(prefix) and name not in keep_collections:
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
    records = _chunk_records(folder)
    return LoadedBook(
        entry=entry,
        text=(folder / "text.txt").read_text(encoding="utf-8"),
        chapter=np.array([r["chapter"] for r in records], dtype=np.int32),
        chapter_title=[r["chapter_title"] for r in records],
        start=np.array([r["start"] for r in records], dtype=np.int64),
        end=np.array([r["end"] for r in records], dtype=np.int64),
        lexical=LexicalIndex.load(folder / lexical_folder(entry.lexical_version)),
    )
