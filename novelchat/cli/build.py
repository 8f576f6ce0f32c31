"""Index every novel in a corpus folder into a persistent Chroma store plus a BM25 index.

Usage: novelchat build [--corpus corpus/] [--persist chroma/] [--rebuild] [--lexical-only]
       (or python gen_chroma.py with the same options)

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
import json
import sys
from dataclasses import asdict
from pathlib import Path

from pydantic import ValidationError
from tqdm import tqdm

from novelchat.config import get_settings, invalid_settings
from novelchat.errors import NovelChatError
from novelchat.index.background import end_with_parent, lower_priority
from novelchat.index.build import build_index
from novelchat.index.report import BuildReport


def emit_json(**fields: object) -> None:
    """One JSON line on stdout, for the process that runs this CLI with --json-progress."""
    print(json.dumps(fields, ensure_ascii=False), flush=True)


def json_progress(stage: str, title: str, done: int, total: int) -> None:
    """Progress as a JSON line (--json-progress)."""
    emit_json(stage=stage, book=title, done=done, total=total)


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
    except NovelChatError as error:
        if args.json_progress:
            emit_json(error=error.friendly)
        print(f"错误 / error: {error.friendly}", file=sys.stderr)
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
