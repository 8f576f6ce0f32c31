"""Grounding a model's answer in the passages: citations NovelChat adds itself when the model writes none (small
models rarely do).

Each sentence of the answer is matched against the passages it was given by shared words (English) and character
pairs (Chinese); what the sentence adds to the question (112 in "it has 112 steps") decides, since the question's
own words are in every passage the retriever returned. A sentence that clearly stands on one passage gets that
passage's ``[n]``. A sentence that matches nothing gets none: no
citation is better than a wrong one. A model's own ``[n]`` for a passage it was not given (n outside 1..k) is taken
out as it streams, and an answer that says the passages do not hold it is cited nowhere.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Sequence

from novelchat.retrieval.passages import Passage
from novelchat.text.hanzi import simplified
from novelchat.text.query import Query
from novelchat.text.sentences import split_sentences

CITATION = re.compile(r"\[(\d{1,2})\]")
_CITED = re.compile(r"\s*\[(\d{1,2})\]")  # a citation and the space before it
_UNFINISHED = re.compile(r"\s*\[\d{0,2}$")  # the end of a piece that may be the start of a citation
DECLINE = re.compile(  # an answer saying the passages do not hold it (the QA prompt asks for the first two)
    r"does not seem to say|似乎没有提到|not (?:in|from) (?:these|the) passages|"
    r"passages? (?:do|does)(?: not|n't) (?:say|mention|hold|contain|tell)|段落(?:里|中)?(?:都|并)?没有(?:提到|答案)",
    re.IGNORECASE,
)
MIN_SHARED = 2  # distinct features of the sentence a passage must hold to be cited
_WORD = re.compile(r"[a-z0-9]+")
_CJK_RUN = re.compile(r"[\u3400-\u9fff]+")
_STOP = set(
    "the a an of and or to in on at by for with from is are was were be been it its this that these those he she they "
    "we you i his her their our my your him them me what who whom which when where why how does did do has have had "
    "not no yes there here as so but if then than into about".split()
)


def features(text: str) -> set[str]:
    """Content words (lower-case, stop words out) and CJK character pairs of ``text`` (simplified characters)."""
    lowered = simplified(text).lower()
    words = {w for w in _WORD.findall(lowered) if w not in _STOP and (len(w) > 2 or w.isdigit())}
    pairs = {run[i : i + 2] for run in _CJK_RUN.findall(lowered) for i in range(len(run) - 1)}
    return words | pairs


def best_source(sentence: str, passages: Sequence[Passage], question: str | Query) -> int | None:
    """The 1-based number of the passage the sentence stands on, or None when none clearly does: the passage must
    hold at least one of the sentence's own features (not the question's) and ``MIN_SHARED`` in all."""
    said, asked = features(sentence), features(Query.parse(question).folded)
    scores = [(len((said - asked) & found), len(said & found)) for found in (features(p.text) for p in passages)]
    best = max(scores, default=(0, 0))
    if best[0] < 1 or best[1] < MIN_SHARED:
        return None
    return scores.index(best) + 1


def cite(answer: str, passages: Sequence[Passage], question: str | Query) -> str:
    """The citations to append to an answer that has none: `` [2][4]`` for the passages its sentences stand on."""
    if CITATION.search(answer):
        return ""
    query = Query.parse(question)
    numbers = dict.fromkeys(n for n in (best_source(s, passages, query) for s in split_sentences(answer)) if n)
    return (" " + "".join(f"[{n}]" for n in numbers)) if numbers else ""


def known_citations(text: str, k: int) -> str:
    """``text`` without the citations of passages it was not given (``[n]`` with n outside 1..k) and their space."""
    return _CITED.sub(lambda m: m.group() if 1 <= int(m.group(1)) <= k else "", text)


def within_sources(pieces: Iterable[str], k: int) -> Iterator[str]:
    """Stream ``pieces`` without citations outside 1..k (:func:`known_citations`); the end of a piece that may begin
    one (`` [``, ``[1``) waits for the next piece. A space streamed alone before a removed one stays (tokenisers put
    it with the bracket: `` [``)."""
    held = ""
    for piece in pieces:
        text = known_citations(held + piece, k)
        unfinished = _UNFINISHED.search(text)
        cut = unfinished.start() if unfinished else len(text)
        held = text[cut:]
        if cut:
            yield text[:cut]
    if held:
        yield held


def declines(answer: str) -> bool:
    """Whether the answer opens by saying the passages do not hold the answer (in English or Chinese)."""
    first = split_sentences(answer)[:1]
    return bool(first and DECLINE.search(simplified(first[0])))


def with_citations(pieces: Iterable[str], passages: Sequence[Passage], question: str | Query) -> Iterator[str]:
    """Stream the answer as it comes, without citations of passages it was not given, then NovelChat's own
    citations if it cites none and does not decline."""
    answer = ""
    for piece in within_sources(pieces, len(passages)):
        answer += piece
        yield piece
    suffix = "" if declines(answer) else cite(answer, passages, question)
    if suffix:
        yield suffix
