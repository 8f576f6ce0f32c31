"""What retrieval returns: passages with their citations, and how overlapping or repeated passages become one."""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace

REPEAT_SHARE = 0.8  # a passage whose pairs of characters or words are this much another's is not shown twice


@dataclass
class Passage:
    """A retrieved chunk with its citation and how each retriever ranked it (1-based, None = not found)."""

    book_id: str
    book: str
    chapter: int
    chapter_title: str
    start: int
    end: int
    text: str
    score: float = 0.0
    lexical_rank: int | None = None
    dense_rank: int | None = None

    @property
    def citation(self) -> str:
        return f"《{self.book}》{self.chapter_title}（{self.start}–{self.end}）"


@dataclass
class Retrieval:
    """Passages best first, plus notes for the reader (e.g. a book searched by keywords only)."""

    passages: list[Passage]
    notes: list[str] = field(default_factory=list)
    rarity: dict[str, float] = field(default_factory=dict)  # the question's keywords: IDF in the searched books


_UNITS = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]|\w+")


def _pairs(text: str) -> set[tuple[str, ...]]:
    """Neighbouring pairs of characters (Chinese) or words (other scripts)."""
    units = _UNITS.findall(text.lower())
    return set(zip(units, units[1:], strict=False))


def repeats(a: str, b: str) -> bool:
    """Whether two passages are mostly the same text (share ``REPEAT_SHARE`` of the shorter one's pairs)."""
    pairs_a, pairs_b = _pairs(a), _pairs(b)
    return bool(pairs_a and pairs_b) and len(pairs_a & pairs_b) >= REPEAT_SHARE * min(len(pairs_a), len(pairs_b))


def _best_rank(a: int | None, b: int | None) -> int | None:
    return min(r for r in (a, b) if r is not None) if a or b else None


def merged(a: Passage, b: Passage, book_text: str) -> Passage:
    """One passage covering two overlapping stretches of a book, ranked as the better of them."""
    start, end = min(a.start, b.start), max(a.end, b.end)
    return replace(a, start=start, end=end, text=book_text[start:end], score=max(a.score, b.score),
                   lexical_rank=_best_rank(a.lexical_rank, b.lexical_rank),
                   dense_rank=_best_rank(a.dense_rank, b.dense_rank))


def add_passage(kept: list[Passage], new: Passage, book_text: str) -> None:
    """Add ``new`` unless it repeats a kept passage: a stretch of the book overlapping kept ones (neighbouring
    chunks share their edges) is merged with them into one passage; a passage with mostly the same text as a kept
    one (a verse the book repeats) is left out."""
    same = [p for p in kept if p.book_id == new.book_id and p.start < new.end and new.start < p.end]
    if same:
        combined = same[0]
        for passage in [*same[1:], new]:
            combined = merged(combined, passage, book_text)
        kept[kept.index(same[0])] = combined
        for passage in same[1:]:
            kept.remove(passage)
    elif not any(repeats(old.text, new.text) for old in kept):
        kept.append(new)
