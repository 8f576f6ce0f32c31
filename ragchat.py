"""Ask the book: retrieval with citations, its evaluation, and the chat chains.

  python ragchat.py ask "问题" [--persist DIR] [--book B] [--max-chapter N] [-k K] [--mode M]
  python ragchat.py eval --qa FILE.jsonl [--persist DIR] [-k 5] [--mode hybrid|bm25|dense]

``eval`` reads lines ``{"question", "answers": [...], "doc"?, "evidence_spans"?: [[start, end], ...]}``;
a hit is a top-k passage that contains an answer (whitespace and punctuation ignored) or overlaps
an evidence span. Its last line is ``recall@K=… mrr=… n=N``.
"""

from __future__ import annotations

import argparse
import json
import sys
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from config import Settings, get_settings
from retrieval import Library, Mode, NoIndexError, Passage, Retrieval


@lru_cache(maxsize=4)
def open_library(persist_dir: Path | None = None) -> Library:
    """The index in ``persist_dir`` (default: the settings'), opened once per process."""
    settings = get_settings()
    if persist_dir is not None:
        settings = settings.model_copy(update={"persist_dir": Path(persist_dir)})
    return Library(settings)


def retrieve(
    question: str,
    k: int = 5,
    book: str | None = None,
    max_chapter: int | None = None,
    *,
    mode: Mode = "hybrid",
    persist_dir: Path | None = None,
) -> Retrieval:
    """The k passages that best answer ``question``, with citations; never past ``max_chapter``."""
    return open_library(persist_dir).retrieve(question, k, book, max_chapter, mode)


# --- evaluation -------------------------------------------------------------------------------------
def squash(text: str) -> str:
    """Lower-case text without whitespace or punctuation, for answer matching."""
    return "".join(
        ch for ch in text.lower() if not ch.isspace() and not unicodedata.category(ch).startswith(("P", "S"))
    )


def is_hit(passage: Passage, answers: list[str], spans: list[list[int]]) -> bool:
    """Whether a passage holds an answer or overlaps a gold evidence span."""
    body = squash(passage.text)
    if any(squash(answer) and squash(answer) in body for answer in answers):
        return True
    return any(passage.start < end and start < passage.end for start, end in spans)


@dataclass
class EvalResult:
    recall: float
    mrr: float
    n: int


def evaluate(qa_file: Path, k: int, mode: Mode, library: Library, echo=None) -> EvalResult:
    """Recall@k and MRR of ``library`` on a QA file (each question searched in its ``doc`` book)."""
    hits, reciprocal, n = 0, 0.0, 0
    books = {entry.file: entry.book_id for entry in library.books()}
    for line in qa_file.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        item = json.loads(line)
        doc = item.get("doc")
        if doc and doc not in books:
            raise NoIndexError(f"评测文件提到的 {doc} 不在索引中 / {doc} is not in the index; index it first")
        result = library.retrieve(item["question"], k, books.get(doc), None, mode)
        rank = next((i for i, p in enumerate(result.passages, 1)
                     if is_hit(p, item.get("answers", []), item.get("evidence_spans", []))), None)
        n += 1
        hits += rank is not None
        reciprocal += 1.0 / rank if rank else 0.0
        if echo:
            echo(f"{'✓' if rank else '✗'} {rank or '-'}  {item['question']}")
    if not n:
        raise NoIndexError(f"{qa_file} 里没有问题 / no questions in {qa_file}")
    return EvalResult(hits / n, reciprocal / n, n)


# --- command line --------------------------------------------------------------------------------------
def _print_passages(result: Retrieval) -> None:
    for note in result.notes:
        print(f"注意 / note: {note}")
    for number, passage in enumerate(result.passages, 1):
        print(f"[{number}] {passage.citation}  score={passage.score:.4f}")
        print("    " + passage.text.strip().replace("\n", "\n    "))


def main(argv: list[str] | None = None) -> int:
    settings: Settings = get_settings()
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    ask = commands.add_parser("ask", help="print the passages that answer a question")
    ask.add_argument("question")
    ask.add_argument("--book", help="book title or file name (default: all books)")
    ask.add_argument("--max-chapter", type=int, help="spoiler limit: nothing after this chapter")
    evaluation = commands.add_parser("eval", help="recall@k and MRR on a QA file")
    evaluation.add_argument("--qa", type=Path, required=True, help="JSON lines: question, answers, doc, evidence_spans")
    evaluation.add_argument("-v", "--verbose", action="store_true", help="print every question's rank")
    for sub in (ask, evaluation):
        sub.add_argument("--persist", type=Path, default=settings.persist_dir, help="index folder (%(default)s)")
        sub.add_argument("-k", type=int, default=settings.top_k, help="passages per question (default: %(default)s)")
        sub.add_argument("--mode", choices=["hybrid", "bm25", "dense"], default="hybrid")
    args = parser.parse_args(argv)
    library = open_library(args.persist)
    try:
        if args.command == "ask":
            _print_passages(library.retrieve(args.question, args.k, args.book, args.max_chapter, args.mode))
        else:
            result = evaluate(args.qa, args.k, args.mode, library, print if args.verbose else None)
            print(f"recall@{args.k}={result.recall:.3f} mrr={result.mrr:.3f} n={result.n}")
    except NoIndexError as error:
        print(f"错误 / error: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
