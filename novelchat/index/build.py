"""Bring the index up to date with the corpus folder: plan, the lexical phase, then the dense phase.

The lexical phase reads every new or changed book and writes its keyword index (seconds: the book can be asked about
at once); the dense phase (``index.dense``) embeds it, resumably. A file that cannot be a book is one warning and
never touches what the index holds; an index folder that cannot be written is one ``IndexBuildError`` line, after
what this build wrote is removed. ``novelchat build --help`` (``novelchat.cli.build``) tells the whole story.
"""

from __future__ import annotations

import time
from pathlib import Path

from novelchat.books.novel import Novel, NovelError, read_novel, split_novel, text_sha256
from novelchat.config import Settings, max_file_bytes
from novelchat.index.corpus import CorpusScan, corpus_files, scan_corpus, unreadable_reason, version_name
from novelchat.index.dense import dense_phase
from novelchat.index.lexical import LEXICAL_VERSION
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
)
from novelchat.index.report import BookReport, BuildReport, IndexBuildError, ProgressFn
from novelchat.index.store import (
    BookEntry,
    Manifest,
    book_id_for,
    collect_collections,
    collect_leftovers,
    collection_name,
    load_manifest,
    new_index_id,
    reindex_keywords,
    save_manifest,
    write_book_version,
)
from novelchat.index.writes import IndexWriteError, writer_lock


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
        raise IndexBuildError(error.friendly) from None
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
        dense_phase(settings, manifest, plan, staged, report, progress)
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
        novel = read_novel(path, max_file_bytes(settings.max_file_mb))
    except (NovelError, OSError) as error:
        _skip(report, book.file, unreadable_reason(error))
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


def _skip(report: BuildReport, file: str, reason: str) -> None:
    name = display_name(file)
    report.warnings.append(f"{name}: {reason}")
    report.books.append(BookReport(name, Action.SKIPPED))

