"""The question sets bench/answer_trust.py calibrates and measures on, split by book, and their passages.

Each set is one book's questions: answerable ones with gold answer strings, and (novels) questions the book does not
answer. ``role`` says what a set is for: ``fit`` (the confidence and the thresholds are fitted on it), ``held out``
(never used for fitting), ``held out, first run`` (written by a helper who never saw the code, run once after
everything was fixed; it becomes a fit set the next time the calibration changes). Retrieval is keyword-only (BM25:
no embedding, so the whole run takes minutes) and its results are cached under bench/out/trust/ (gitignored) per
book and question.
"""

from __future__ import annotations

import json
import pickle
from dataclasses import dataclass, field
from pathlib import Path

import _common as C

from novelchat.retrieval.evaluate import squash
from novelchat.retrieval.passages import Retrieval

TESTS = C.REPO / "tests" / "data"
FAIRY = C.DATA / "fairytaleqa-train"
OUT = C.REPO / "bench" / "out" / "trust"
FAIRY_PER_BOOK = 100  # questions per FairytaleQA book (spread evenly over it), to keep the run short
MIN_ANSWER = 3  # characters of a FairytaleQA answer (squashed): shorter ones ("he", "25") match too many sentences
FIT, HELD, FIRST_RUN = "fit", "held out", "held out, first run"


@dataclass
class QuestionSet:
    """One book's questions: ``answerable`` (question, answers) and ``unanswerable`` (questions)."""

    name: str
    role: str
    book: str  # the file name the book is indexed under
    answerable: list[tuple[str, list[str]]]
    unanswerable: list[str] = field(default_factory=list)
    text_of: object = None  # () -> the book's text

    def retrieved(self, k: int) -> dict[str, Retrieval]:
        """Every question's k passages (BM25), from the cache when it has them."""
        cache = OUT / f"{self.name}-k{k}.pkl"
        questions = [q for q, _ in self.answerable] + self.unanswerable
        found = pickle.loads(cache.read_bytes()) if cache.is_file() else {}
        missing = [q for q in questions if q not in found]
        if missing:
            library = _library(self.name, self.book, self.text_of())
            for question in missing:
                found[question] = library.retrieve(question, library.scope_of_all(), k, "bm25")
            cache.parent.mkdir(parents=True, exist_ok=True)
            cache.write_bytes(pickle.dumps(found))
        return found


def _library(name: str, book: str, text: str):
    """A keyword-only index of one book under bench/out/trust/<name> (reused when unchanged)."""
    from novelchat.index.build import build_index
    from novelchat.retrieval.library import Library

    corpus = OUT / name / "corpus"
    corpus.mkdir(parents=True, exist_ok=True)
    (corpus / book).write_text(text, encoding="utf-8")
    settings = C.settings_for(corpus, OUT / name / "index")
    build_index(settings, dense=False)
    return Library(settings)


def read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def _chinese(name: str, title: str, role: str, text_of, chapters: int | None = None) -> QuestionSet:
    qa = [(i["question"], i["answers"]) for i in read_jsonl(TESTS / f"{name}_qa.jsonl")
          if chapters is None or i.get("chapter", 0) <= chapters]
    missing = TESTS / f"{name}_not_in_book.jsonl"
    unanswerable = [i["question"] for i in read_jsonl(missing)] if missing.is_file() else []
    return QuestionSet(name, role, f"{title}.txt", qa, unanswerable, text_of)


def _fairy_books() -> list[str]:
    return sorted(p.name for p in FAIRY.glob("*.txt"))


def _fairytale(book: str, role: str) -> QuestionSet:
    """A FairytaleQA book's questions whose short answer (≤ 6 words) is written in the story's evidence section."""
    text = (FAIRY / book).read_text(encoding="utf-8")
    kept = []
    for item in read_jsonl(FAIRY / "qa.jsonl"):
        if item["doc"] != book:
            continue
        evidence = squash(" ".join(text[a:b] for a, b in item["evidence_spans"]))
        answers = [a for a in item["answers"] if len(squash(a)) >= MIN_ANSWER and len(a.split()) <= 6
                   and squash(a) in evidence]
        if answers:
            kept.append((item["question"], answers))
    step = max(1, len(kept) // FAIRY_PER_BOOK)
    return QuestionSet(f"fairy-{book.removesuffix('-fairybook.txt').removesuffix('.txt')}", role, book,
                       kept[::step][:FAIRY_PER_BOOK], [], lambda: text)


def question_sets(first_run: bool = False) -> list[QuestionSet]:
    """Fit: the novella, 西游记, 水浒传 and 红楼梦 chapters 1-60, Emma (sets looked at by earlier rule tuning or run
    once already) and every other FairytaleQA book (alphabetical, from the first); held out: the other FairytaleQA
    books; with ``first_run``, the sets written last, never run before this calibration was fixed (水浒传 and 红楼梦
    chapters 61-90, Northanger Abbey, Sense and Sensibility), when they exist."""
    sets = [
        _chinese("novella", "青石镇的灯", FIT, lambda: C.load_text(C.REPO / "corpus" / "青石镇的灯.txt")),
        _chinese("xiyouji", "西游记", FIT, lambda: C.load_text(C.book("西游记"))),
        _chinese("shuihu", "水浒传", FIT, lambda: C.head_chapters(C.book("水浒传"), 30)),
        _chinese("honglou", "红楼梦", FIT, lambda: C.head_chapters(C.book("红楼梦"), 30)),
        *_written_sets(FIT, ((31, 60),), ("emma",)),
    ]
    sets += [_fairytale(book, FIT if i % 2 == 0 else HELD) for i, book in enumerate(_fairy_books())]
    if first_run:
        sets += _written_sets(FIRST_RUN, ((61, 90),), ("northanger", "sense"))
    return sets


def _written_sets(role: str, ranges: tuple[tuple[int, int], ...], english: tuple[str, ...]) -> list[QuestionSet]:
    """Sets written by helpers who never saw the code (when present): 水浒传 and 红楼梦 over the chapter ``ranges``,
    and the ``english`` books' sets."""
    sets = []
    for first, last in ranges:
        for short, title in (("shuihu", "水浒传"), ("honglou", "红楼梦")):
            name = f"{short}_{first}_{last}"
            if (TESTS / f"{name}_qa.jsonl").is_file():
                sets.append(_chinese(name, title, role, lambda t=title, a=first, b=last: _chapters(t, a, b)))
    for name in english:
        path = TESTS / f"{name}_qa.jsonl"
        if path.is_file():
            doc = read_jsonl(path)[0]["doc"]
            sets.append(_chinese(name, Path(doc).stem, role, lambda d=doc: _english_book(d)))
    return sets


def _chapters(title: str, first: int, last: int) -> str:
    """Chapters ``first``..``last`` of a shared Chinese novel."""
    from novelchat.books.novel import detect_chapters

    text = C.load_text(C.book(title))
    found = [c for c in detect_chapters(text) if first <= c.number <= last]
    return text[found[0].start: found[-1].end]


def _english_book(doc: str) -> str:
    """An English book the first-run set names, from the shared data or the repository."""
    for folder in (C.DATA / "en", C.DATA, C.REPO / "corpus", TESTS):
        hits = list(folder.rglob(doc)) if folder.is_dir() else []
        if hits:
            return C.load_text(hits[0])
    raise SystemExit(f"{doc}: book not found under {C.DATA} or the repository")
