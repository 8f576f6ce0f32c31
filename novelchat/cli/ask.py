"""Ask the indexed books a question, or measure retrieval on a QA set.

  python ragchat.py ask "问题" [--persist DIR] [--book B] [--max-chapter N] [-k K] [--mode M]
  python ragchat.py eval --qa FILE.jsonl [--persist DIR] [-k 5] [--mode hybrid|bm25|dense]

``eval`` reads lines ``{"question", "answers": [...], "doc"?, "evidence_spans"?: [[start, end], ...]}``;
a hit is a top-k passage that contains an answer (whitespace and punctuation ignored) or overlaps
an evidence span. Its last line is ``recall@K=… mrr=… n=N``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from novelchat.config import Settings, get_settings
from novelchat.retrieval.evaluate import evaluate
from novelchat.retrieval.library import Library, NoIndexError
from novelchat.retrieval.passages import Retrieval
from novelchat.retrieval.scope import Scope


def print_passages(result: Retrieval) -> None:
    """The notes, then each passage with its citation, score and ranks."""
    for note in result.notes:
        print(f"注意 / note: {note}")
    for number, passage in enumerate(result.passages, 1):
        ranks = f"bm25 #{passage.lexical_rank or '-'}, dense #{passage.dense_rank or '-'}"
        print(f"[{number}] {passage.citation}  score={passage.score:.4f} ({ranks})")
        print("    " + passage.text.strip().replace("\n", "\n    "))


def cli_scope(library: Library, book: str | None, max_chapter: int | None) -> Scope:
    """The scope the command line asks for: one book or all, each read to ``max_chapter`` (None: to the end)."""
    titles = [library.find_book(book).title] if book else [entry.title for entry in library.books()]
    return Scope.of(dict.fromkeys(titles, max_chapter))


def parser(settings: Settings) -> argparse.ArgumentParser:
    """The ``ask`` and ``eval`` subcommands and their options (defaults from ``settings``)."""
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
    return parser


def main(argv: list[str] | None = None) -> int:
    settings = get_settings()
    args = parser(settings).parse_args(argv)
    library = Library(settings.with_(persist_dir=args.persist))
    try:
        if args.command == "ask":
            scope = cli_scope(library, args.book, args.max_chapter)
            print_passages(library.retrieve(args.question, scope, args.k, args.mode))
        else:
            result = evaluate(args.qa, args.k, args.mode, library, print if args.verbose else None)
            print(f"recall@{args.k}={result.recall:.3f} mrr={result.mrr:.3f} n={result.n}")
    except NoIndexError as error:
        print(f"错误 / error: {error.friendly}", file=sys.stderr)
        return 2
    finally:
        library.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
