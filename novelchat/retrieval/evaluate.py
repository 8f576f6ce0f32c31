"""Retrieval measured on a QA file: recall@k and MRR, a hit being a passage that holds an answer or overlaps a gold
evidence span. Lines are ``{"question", "answers": [...], "doc"?, "evidence_spans"?: [[start, end], ...]}``."""

from __future__ import annotations

import json
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from novelchat.retrieval.library import Library, Mode, NoIndexError
from novelchat.retrieval.passages import Passage
from novelchat.retrieval.scope import Scope
from novelchat.text.hanzi import simplified


def squash(text: str) -> str:
    """Lower-case simplified text without whitespace or punctuation, for answer matching."""
    folded = simplified(text).lower()
    return "".join(ch for ch in folded if not ch.isspace() and not unicodedata.category(ch).startswith(("P", "S")))


def is_hit(passage: Passage, answers: list[str], spans: list[list[int]]) -> bool:
    """Whether a passage holds an answer (whitespace and punctuation ignored) or overlaps a gold evidence span."""
    body = squash(passage.text)
    if any(squash(answer) and squash(answer) in body for answer in answers):
        return True
    return any(passage.start < end and start < passage.end for start, end in spans)


@dataclass
class EvalResult:
    """Recall@k and mean reciprocal rank over ``n`` questions."""

    recall: float
    mrr: float
    n: int


def evaluate(
    qa_file: Path, k: int, mode: Mode, library: Library, echo: Callable[[str], None] | None = None
) -> EvalResult:
    """Recall@k and MRR of ``library`` on a QA file (each question searched in its ``doc`` book)."""
    hits, reciprocal, n = 0, 0.0, 0
    books = {entry.file: entry.title for entry in library.books()}
    for line in qa_file.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        item = json.loads(line)
        doc = item.get("doc")
        if doc and doc not in books:
            raise NoIndexError(f"评测文件提到的 {doc} 不在索引中 / {doc} is not in the index; index it first")
        scope = Scope.whole([books[doc]]) if doc else library.scope_of_all()
        result = library.retrieve(item["question"], scope, k, mode)
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
