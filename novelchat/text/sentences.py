"""The one sentence splitter: where a sentence of a book, a question or a reply ends, in Chinese or English.

A sentence ends at a run of 。！？!?… (and ． — a full stop in some editions — unless it is a decimal point), or a
newline, with any closing quotes after it (”’」』）》); an ASCII "." ends one only before whitespace or the end, closing
quotes between allowed ('He said "Stop." Then'), and not after an abbreviation or an initial ("3.14", "Mr. Li",
"J. K." stay whole)."""

from __future__ import annotations

import re

CLOSERS = "”’」』）)》\"'"
SENTENCE_END = re.compile(rf"(?:[。！？!?…]|．(?![0-9０-９])|\.(?=[{CLOSERS}]*(?:\s|$)))+[{CLOSERS}]*|\n+")
CLAUSE_END = re.compile(r"[，,、；;：:]")
_LAST_WORD = re.compile(r"[A-Za-z.]+$")
_ABBREVIATIONS = {"mr", "mrs", "ms", "dr", "prof", "st", "sr", "jr", "vs", "e.g", "i.e", "cf", "approx"}


def ends_sentence(text: str, match: re.Match[str]) -> bool:
    """Whether an end-mark match really ends a sentence (an ASCII "." after "Mr" or an initial does not)."""
    marks = match.group().rstrip(CLOSERS)
    if set(marks) != {"."} or len(marks) >= 3:
        return True
    word = _LAST_WORD.search(text, 0, match.start())
    word = word.group().lower() if word else ""
    return word not in _ABBREVIATIONS and not (len(word) == 1 and word.isalpha())


def sentence_ends(text: str) -> list[int]:
    """The offsets just past each sentence end in ``text`` (not including ``len(text)`` unless one ends there)."""
    return [m.end() for m in SENTENCE_END.finditer(text) if ends_sentence(text, m)]


def finished_sentence_ends(text: str) -> list[int]:
    """The ends of the sentences of a text still being written that are sure to be over: each holds some words, and
    none is at the very end of ``text`` (more marks may follow there: "3." may become "3.14", "!" may become "!!")."""
    ends, start = [], 0
    for end in sentence_ends(text):
        if end < len(text) and text[start:end].strip():
            ends.append(end)
        start = end
    return ends


def sentence_spans(text: str) -> list[tuple[int, int]]:
    """``(start, end)`` of every sentence, whitespace-only ones left out; the last runs to the end of ``text``."""
    spans, start = [], 0
    for end in [*sentence_ends(text), len(text)]:
        if text[start:end].strip():
            spans.append((start, end))
        start = end
    return spans


def split_sentences(text: str) -> list[str]:
    """The sentences of ``text``, stripped."""
    return [text[start:end].strip() for start, end in sentence_spans(text)]
