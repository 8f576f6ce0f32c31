"""繁体 and 简体 as one: the same questions against a book in either script, keywords only (seconds).

    python bench/traditional.py [--chapters 30]

For the sample novella and 西游记 chapters 1..N it builds two keyword indexes, the book as it is (简体) and a copy
converted to traditional characters with OpenCC (s2t), and asks tests/data's questions: typed in 简体 of both
copies, and converted to 繁體 of the 简体 book. Printed: recall@5 (an answer string in a passage) and the share
whose answer is in the reply's first sentence (``heuristic.lead``). The baseline is the 简体 book asked in 简体;
folding is right when the other rows match it. (Before hanzi.py, the 繁體 novella asked in 简体: recall@5 0.410,
answer sentence 0.313.)
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import _common as C

DATA = C.REPO / "tests" / "data"


def shares(library, questions: list[dict], convert) -> tuple[float, float]:
    """(recall@5, answer in the first sentence) over ``questions``, each asked as ``convert(question)``."""
    from novelchat.answering.heuristic import lead
    from novelchat.retrieval.evaluate import squash

    found = first = 0
    for item in questions:
        question = convert(item["question"])
        result = library.retrieve(question, library.scope_of_all(), 5)
        answers = [squash(a) for a in item["answers"]]
        found += any(a in squash(p.text) for p in result.passages for a in answers)
        best = lead(result.passages, question, result.rarity)
        first += bool(best) and any(a in squash(best.sentences[0].text) for a in answers)
    return found / len(questions), first / len(questions)


def keyword_library(name: str, text: str, folder: Path):
    """A keyword-only index of one book."""
    from novelchat.index.build import build_index
    from novelchat.retrieval.library import Library

    corpus = folder / "corpus"
    corpus.mkdir(parents=True)
    (corpus / name).write_text(text, encoding="utf-8")
    settings = C.settings_for(corpus, folder / "index")
    build_index(settings, dense=False)
    return Library(settings)


def main() -> int:
    import opencc

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--chapters", type=int, default=30, help="西游记 chapters 1..N (default: %(default)s)")
    args = parser.parse_args()
    to_traditional = opencc.OpenCC("s2t").convert
    books = [
        ("sample novella", C.load_text(C.REPO / "corpus" / "青石镇的灯.txt"), "novella_qa.jsonl"),
        (f"西游记 chapters 1-{args.chapters}", C.head_chapters(C.book("西游记"), args.chapters), "xiyouji_qa.jsonl"),
    ]
    with C.workdir("bench-traditional-") as work:
        for number, (title, text, qa) in enumerate(books):
            questions = [json.loads(line) for line in (DATA / qa).read_text("utf-8").splitlines() if line.strip()]
            questions = [q for q in questions if q["chapter"] <= args.chapters or "novella" in qa]
            plain = keyword_library("book.txt", text, work / f"{number}-simplified")
            traditional = keyword_library("book.txt", to_traditional(text), work / f"{number}-traditional")
            rows = [("简体 book, 简体 questions (baseline)", plain, str),
                    ("繁體 book, 简体 questions", traditional, str),
                    ("简体 book, 繁體 questions", plain, to_traditional)]
            print(f"\n{title}: {len(questions)} questions, keywords only")
            for label, library, convert in rows:
                recall, first = shares(library, questions, convert)
                print(f"  {label:<36} recall@5 {recall:.3f}   answer in the first sentence {first:.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
