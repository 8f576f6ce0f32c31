"""Retrieval quality on an externally written QA set: FairytaleQA (train) with gold evidence spans.

Indexes the chosen story books (English) with gen_chroma's build_index and runs retrieval.evaluate on their
questions in hybrid, BM25-only and dense-only mode. A hit = a top-k passage overlaps a gold evidence span
or contains an answer. Baselines in the same run: BM25-only and dense-only.

  python bench/recall_fairytale.py [--books grimm-fairybook.txt wonderclock-fairybook.txt] [-k 5] [--persist DIR]
"""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path

import _common as C

from novelchat.index.build import build_index
from novelchat.retrieval.evaluate import evaluate
from novelchat.retrieval.library import Library

FAIRY = C.DATA / "fairytaleqa-train"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--books", nargs="+", default=["grimm-fairybook.txt", "wonderclock-fairybook.txt"])
    parser.add_argument("-k", type=int, default=5)
    parser.add_argument("--persist", type=Path, help="keep the index here for the next run")
    args = parser.parse_args()
    C.require(FAIRY / "qa.jsonl", *(FAIRY / book for book in args.books))
    with C.workdir("nc-fairy-", args.persist) as work:
        corpus = work / "corpus"
        corpus.mkdir(exist_ok=True)
        for book in args.books:
            shutil.copy(FAIRY / book, corpus / book)
        settings = C.settings_for(corpus, work / "chroma")
        with C.Timer() as timer:
            build_index(settings)
        questions = work / "qa.jsonl"
        lines = [line for line in (FAIRY / "qa.jsonl").read_text(encoding="utf-8").splitlines()
                 if any(f'"doc": "{book}"' in line for book in args.books)]
        questions.write_text("\n".join(lines), encoding="utf-8")
        print(f"books: {', '.join(args.books)}; index built in {timer.s:.0f} s; {len(lines)} questions")
        library = Library(settings)
        for mode in ("hybrid", "bm25", "dense"):
            result = evaluate(questions, args.k, mode, library)
            print(f"  {mode:<7} recall@{args.k}={result.recall:.3f}  mrr={result.mrr:.3f}  n={result.n}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
