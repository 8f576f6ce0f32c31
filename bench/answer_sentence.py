"""Retrieval-only replies: is the answer in the first sentence shown? The sample novella and 西游记.

    python bench/answer_sentence.py [--chapters 30] [--persist DIR] [-k 5] [--mode hybrid|bm25|dense]

For every question of tests/data/novella_qa.jsonl and tests/data/xiyouji_qa.jsonl (chapters 1..N of 西游记,
indexed once; ``--chapters 100`` = the whole book, ~8+ min of embedding; ``--persist DIR`` keeps the indexes
for the next run), and of the held-out tests/data/shuihu_qa.jsonl and honglou_qa.jsonl (水浒传 and 红楼梦 chapters
1..30: written after the answer-sentence rules were fixed, so they show how the rules carry over to books and
questions they were not tuned on)
it retrieves k passages and checks whether an answer string (whitespace and punctuation
ignored) is in:

- baseline: the first text today's reply shows, passage 1 cut where the question's words cluster (``snippet``);
- answer sentence: the first sentence the reply now opens with (``answering.heuristic.lead``);
- lead: the one or two sentences the reply opens with (what the voice reads);
- and, as the ceiling, whether it is in any of the k passages.

Same passages for all. (Whether a reply may show that sentence as the answer, and the "not in the book" question,
are bench/answer_trust.py's.)
Targets: answer sentence >= 0.8 on the novella, >= 0.7 on 西游记.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import _common as C

DATA = C.REPO / "tests" / "data"
HELD_OUT = [("水浒传", "shuihu"), ("红楼梦", "honglou")]  # question sets written after the rules were fixed


def read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def index(name: str, text: str, folder: Path):
    """A library of one book (file ``name``) indexed into ``folder`` (reused when unchanged)."""
    from novelchat.cli.build import TqdmProgress
    from novelchat.index.build import build_index
    from novelchat.retrieval.library import Library

    corpus = folder / "corpus"
    corpus.mkdir(parents=True, exist_ok=True)
    (corpus / name).write_text(text, encoding="utf-8")
    settings = C.settings_for(corpus, folder / "chroma")
    with C.Timer() as t:
        report = build_index(settings, progress=TqdmProgress())
    print(f"{name}: {len(text)} chars indexed in {t.s:.0f} s ({'reused' if not report.changed else 'built'})",
          flush=True)
    return Library(settings)


def figures(library, answerable: list[dict], k: int, mode: str) -> dict[str, float]:
    """Shares of questions: answer in the baseline text / first sentence / lead; 'not said' notes."""
    from novelchat.answering.heuristic import lead
    from novelchat.answering.qa import snippet
    from novelchat.retrieval.evaluate import squash

    counts = dict.fromkeys(["baseline", "sentence", "lead", "passages"], 0)
    chars = dict.fromkeys(["baseline", "sentence"], 0)
    for item in answerable:
        found = library.retrieve(item["question"], library.scope_of_all(), k, mode)
        best = lead(found.passages, item["question"], found.rarity)
        shown = snippet(found.passages[0].text, item["question"]) if found.passages else ""
        first = best.sentences[0].text if best else ""
        answers = [squash(a) for a in item["answers"]]
        counts["baseline"] += any(a in squash(shown) for a in answers)
        counts["sentence"] += any(a in squash(first) for a in answers)
        counts["lead"] += bool(best) and any(a in squash(best.text) for a in answers)
        counts["passages"] += any(a in squash(p.text) for p in found.passages for a in answers)
        chars["baseline"] += len(shown)
        chars["sentence"] += len(first)
    n = len(answerable)
    shares = {key: value / n for key, value in counts.items()}
    shares |= {f"{key}_chars": value / n for key, value in chars.items()}
    return shares


def report(title: str, n: int, f: dict[str, float], target: float | None) -> None:
    print(f"\n{title}: {n} questions")
    print(f"  answer in the first text shown   baseline (snippet of passage 1, {f['baseline_chars']:.0f} chars) "
          f"{f['baseline']:.3f}   answer sentence ({f['sentence_chars']:.0f} chars) {f['sentence']:.3f}   "
          f"lead (1-2 sentences) {f['lead']:.3f}   (in any of the passages: {f['passages']:.3f})")
    if target is not None:
        print(f"  target: answer sentence >= {target} -> {C.verdict(f['sentence'] >= target)}")
    else:
        print("  held out: written after the rules were fixed (the README gives the first run's figure; no target)")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--chapters", type=int, default=30, help="西游记 chapters 1..N (default: %(default)s)")
    parser.add_argument("--held-out-chapters", type=int, default=30,
                        help="水浒传, 红楼梦 chapters 1..N, held out (default: %(default)s; 0: skip them)")
    parser.add_argument("--persist", type=Path, help="keep/reuse the indexes in this folder (default: temporary)")
    parser.add_argument("-k", type=int, default=5, help="passages per question (default: %(default)s)")
    parser.add_argument("--mode", choices=["hybrid", "bm25", "dense"], default="hybrid")
    args = parser.parse_args()
    novella_text = C.load_text(C.REPO / "corpus" / "青石镇的灯.txt")
    xiyouji_text = C.head_chapters(C.book("西游记"), args.chapters)
    xiyouji_qa = [item for item in read_jsonl(DATA / "xiyouji_qa.jsonl") if item["chapter"] <= args.chapters]
    with C.workdir("bench-answer-", args.persist) as work:
        novella = index("青石镇的灯.txt", novella_text, work / "novella")
        xiyouji = index("西游记.txt", xiyouji_text, work / f"xiyouji-{args.chapters}")
        sets = [
            ("sample novella", novella, read_jsonl(DATA / "novella_qa.jsonl"), 0.8),
            (f"西游记 chapters 1-{args.chapters}", xiyouji, xiyouji_qa, 0.7),
        ]
        n = args.held_out_chapters
        for book, name in HELD_OUT if n else ():
            questions = [item for item in read_jsonl(DATA / f"{name}_qa.jsonl") if item["chapter"] <= n]
            library = index(f"{book}.txt", C.head_chapters(C.book(book), n), work / f"{name}-{n}")
            sets.append((f"{book} chapters 1-{n}", library, questions, None))
        print(f"k={args.k}, mode={args.mode}")
        for title, library, answerable, target in sets:
            report(title, len(answerable), figures(library, answerable, args.k, args.mode), target)
    return 0


if __name__ == "__main__":
    sys.exit(main())
