"""The corpus folder as a build sees it: which entries can be books, their hashes, and their version names.

A file that cannot be a book (a bad name, a link out of the corpus or broken, not a regular file, over the size
limit, unreadable) is kept with the reason, so the build can skip it with one warning line.
"""

from __future__ import annotations

import hashlib
import json
import stat
from dataclasses import dataclass, field
from pathlib import Path

from novelchat.books.novel import NOVEL_SUFFIXES, NovelError, file_sha256
from novelchat.config import Settings, max_file_bytes
from novelchat.index.plan import CorpusFile, splitter_settings
from novelchat.index.report import IndexBuildError


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
        if path.stat().st_size > max_file_bytes(max_file_mb):
            raise NovelError(f"文件过大（>{max_file_mb:g} MB）/ file over the size limit; skipped")
        return CorpusFile(path.name, file_sha256(path))
    except (NovelError, OSError) as error:
        return CorpusFile(path.name, problem=unreadable_reason(error))


def unreadable_reason(error: NovelError | OSError) -> str:
    """Why a file was skipped, in one line."""
    if isinstance(error, NovelError):
        return str(error)
    return f"无法读取 / cannot read: {error.strerror or error}"


def version_name(book_id: str, sha256: str, settings: Settings) -> str:
    """A book version's folder name: the book, its bytes and how it was cut (chunks and vector windows)."""
    cut = json.dumps(splitter_settings(settings), sort_keys=True)
    return f"{book_id}-{sha256[:12]}-{hashlib.sha1(cut.encode()).hexdigest()[:8]}"
