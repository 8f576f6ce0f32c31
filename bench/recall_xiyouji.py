"""Recall@5 and MRR of hybrid vs BM25-only vs dense-only retrieval on tests/data/xiyouji_qa.jsonl (西游记).

    python bench/recall_xiyouji.py [--chapters 30] [--persist DIR] [-k 5]

Embedding all of 西游记 takes ~25+ minutes on 2 CPU cores, so by default only chapters 1..N (``--chapters``)
are indexed, as a separate book file (named 西游记.txt, so the QA file's ``doc`` matches), and only the questions
whose ``chapter`` <= N are evaluated (``--chapters 100`` = the whole book, all 111 questions). ``--persist DIR``
keeps the index there and reuses it on the next run (an unchanged book is not re-embedded). Scores come from
``novelchat.retrieval.evaluate``; BM25-only is the baseline in the same run.

Target: hybrid at least as good as either retriever alone (recall@5 and MRR).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import _common as C


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--chapters", type=int, default=30, help="index chapters 1..N only (default: %(default)s)")
    parser.add_argument("--persist", type=Path, help="keep/reuse the index in this folder (default: a temp folder)")
    parser.add_argument("-k", type=int, default=5, help="passages per question (default: %(default)s)")
    parser.add_argument("-v", "--verbose", action="store_true", help="print every question's rank")
    args = parser.parse_args()
    source = C.book("西游记")
    qa_file = C.REPO / "tests" / "data" / "xiyouji_qa.jsonl"
    C.require(qa_file)

    from novelchat.cli.build import TqdmProgress
    from novelchat.index.build import build_index
    from novelchat.retrieval.evaluate import evaluate
    from novelchat.retrieval.library import Library

    items = [json.loads(line) for line in qa_file.read_text(encoding="utf-8").splitlines() if line.strip()]
    kept = [item for item in items if item["chapter"] <= args.chapters]
    text = C.head_chapters(source, args.chapters)
    with C.workdir("bench-recall-") as scratch, C.workdir("bench-recall-index-", args.persist) as persist:
        corpus = scratch / "corpus"
        corpus.mkdir()
        (corpus / "西游记.txt").write_text(text, encoding="utf-8")
        qa_subset = scratch / "qa.jsonl"
        qa_subset.write_text("".join(json.dumps(item, ensure_ascii=False) + "\n" for item in kept), encoding="utf-8")
        settings = C.settings_for(corpus, persist)
        print(f"index: chapters 1-{args.chapters} of 西游记 ({len(text)} chars) in {persist}; "
              f"evaluating the {len(kept)} of {len(items)} questions with chapter <= {args.chapters}", flush=True)
        with C.Timer() as t:
            report = build_index(settings, progress=TqdmProgress())
        chunks = sum(b.chunks for b in report.books)
        print(f"build_index: {t.s:.0f} s ({'reused' if not report.changed else 'built'}; {chunks} chunks)", flush=True)
        library = Library(settings)
        (entry,) = library.books()
        assert library.dense_ready(entry), "dense vectors are not complete"
        results = {}
        for mode in ("bm25", "dense", "hybrid"):
            with C.Timer() as t:
                results[mode] = evaluate(qa_subset, args.k, mode, library, print if args.verbose else None)
            r = results[mode]
            print(f"  {mode:<7} recall@{args.k}={r.recall:.3f}  mrr={r.mrr:.3f}  n={r.n}  "
                  f"({t.s / r.n * 1000:.0f} ms/q)", flush=True)
        hybrid, bm25, dense = results["hybrid"], results["bm25"], results["dense"]
        print(f"hybrid vs bm25 baseline: recall {hybrid.recall - bm25.recall:+.3f}, mrr {hybrid.mrr - bm25.mrr:+.3f}; "
              f"vs dense: recall {hybrid.recall - dense.recall:+.3f}, mrr {hybrid.mrr - dense.mrr:+.3f}")
        ok = hybrid.recall >= max(bm25.recall, dense.recall) and hybrid.mrr >= max(bm25.mrr, dense.mrr)
        print(f"target: hybrid >= each retriever alone -> {C.verdict(ok)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
