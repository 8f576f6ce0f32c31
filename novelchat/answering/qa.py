"""Question answering over the reader's part of the books: retrieve, then a grounded answer citing [n] from the chat
model, or, with none, the answer sentence a reader picks and the passages where the question's words are."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import BaseMessage
from langchain_core.output_parsers import StrOutputParser
from langchain_core.prompts import ChatPromptTemplate, MessagesPlaceholder

from novelchat.answering.grounding import with_citations
from novelchat.answering.heuristic import HeuristicReader
from novelchat.answering.reader import Lead, Reader
from novelchat.answering.turn import ChatTurn, guarded, trim_history
from novelchat.retrieval.library import Library
from novelchat.retrieval.passages import Passage, Retrieval
from novelchat.retrieval.scope import Scope
from novelchat.text.hanzi import is_chinese, simplified
from novelchat.text.query import Query

QA_SYSTEM = """【背景 Context】你是「书聊」，一位熟读《{book}》的读书助手。读者只读到了{limit}，绝不透露之后的情节。
【目标 Objective】只根据下面编号的原文段落回答读者的问题。
【风格 Style】先给出直接的答案，再用一两句话说明依据；每个事实后面用 [1]、[2] 这样的编号\
标出所依据的段落（只有 [1] 到 [{k}]）。
【语气 Tone】亲切、简洁，像和朋友聊书。
【受众 Audience】喜欢这本书的读者，用读者提问的语言回答。
【结果 Result】如果这些段落里没有答案，就只回答“书中似乎没有提到这一点。”\
（英文提问则回答 "The book does not seem to say."），不要猜测，也不要编造。

原文段落：
{passages}"""

QA_SYSTEM_EN = """You are NovelChat, a reading assistant. The reader has read "{book}" up to {limit}: never reveal \
what happens after that.
Answer the reader's question only from the numbered passages below. Give the direct answer first, then a sentence or \
two on where it comes from, citing the passage after each fact as [1] or [2] (there are passages [1] to [{k}] only).
If these passages do not hold the answer, reply only: "The book does not seem to say." Do not guess or make anything up.
Be friendly and brief, and answer in the reader's language.

Passages:
{passages}"""

NOTHING_FOUND = ("书中没有找到相关段落。", "Nothing in the book matches.")
PASSAGES_ONLY = ("以下是书中与问题最相关的段落：", "The passages most related to your question:")
SNIPPET_CHARS = 120  # of each passage in a retrieval-only reply (Chinese)
SNIPPET_CHARS_LATIN = 300  # the same for a passage in a Latin script: about as much said (bench/answer_trust.py)
_ANCHOR_LEAD = 6  # a cut starts 1/6 of its width before its anchor sentence
_PARTICLES = frozenset("的了是吗呢吧啊呀么")  # a character bigram holding one (伯的, 的黄) is no word to highlight


def format_passages(passages: Sequence[Passage]) -> str:
    """The passages numbered [1], [2]… with their citations, as the QA prompt shows them."""
    return "\n\n".join(f"[{n}] {p.citation}\n{p.text.strip()}" for n, p in enumerate(passages, 1))


def qa_prompt(english: bool = False) -> ChatPromptTemplate:
    """The QA prompt: the system text with the passages (in English for an English book), the trimmed history, the
    question."""
    return ChatPromptTemplate.from_messages(
        [("system", QA_SYSTEM_EN if english else QA_SYSTEM), MessagesPlaceholder("history"), ("human", "{question}")]
    )


def answer_question(
    question: str,
    library: Library,
    llm: BaseChatModel | None,
    scope: Scope,
    *,
    k: int = 5,
    history: Sequence[BaseMessage] = (),
    history_budget: int = 1500,
    reader: Reader | None = None,
) -> ChatTurn:
    """QA within the reader's scope: retrieve, then stream a grounded answer citing [n] (or, with no model, the
    passages and the answer sentence ``reader`` picks, when it is sure enough). The model is asked to say the book
    does not seem to say when the passages do not hold the answer: that call is the model's alone. ``reader``:
    the heuristic when None (the app passes the one ``Settings.answer_reader`` names)."""
    query = Query.parse(question)
    return answer_from(query, library.retrieve(query, scope, k), llm, scope, history=history,
                       history_budget=history_budget, reader=reader)


def answer_from(
    query: Query,
    found: Retrieval,
    llm: BaseChatModel | None,
    scope: Scope,
    *,
    history: Sequence[BaseMessage] = (),
    history_budget: int = 1500,
    reader: Reader | None = None,
) -> ChatTurn:
    """The reply to ``query`` from passages already ``found`` in ``scope`` (``answer_question`` after retrieval)."""
    best = (reader or HeuristicReader()).lead(found.passages, query, found.rarity)
    if llm is None:
        text = retrieval_only_answer(found.passages, query, best)
        return ChatTurn(found.passages, found.notes, iter([text]), spoken_answer(best, query))
    if not found.passages:
        return ChatTurn([], found.notes, iter([" / ".join(NOTHING_FOUND)]))
    title = scope.titles[0] if len(scope.titles) == 1 else "、".join(sorted({p.book for p in found.passages}))
    english = not any(is_chinese(p.text) for p in found.passages)  # the prompt follows the book's language
    chain = qa_prompt(english) | llm | StrOutputParser()
    stream = chain.stream({
        "book": title, "limit": scope.describe(english), "passages": format_passages(found.passages),
        "k": len(found.passages), "question": query.text, "history": trim_history(history, history_budget),
    })
    return ChatTurn(found.passages, found.notes, guarded(with_citations(stream, found.passages, query)))


def retrieval_only_answer(passages: Sequence[Passage], question: str | Query, best: Lead | None) -> str:
    """What the reader sees with no chat model. When the reader is confident (``Lead.shown_as_answer``): the answer
    sentence, cited, then the passages. Otherwise only the passages, said plainly to be the most related ones, no
    sentence presented as the answer, and no claim that the book does not say. Each passage is cut around its best
    sentence (the reader's ``Lead.anchors``), else where the question's words are."""
    if not passages:
        return " / ".join(NOTHING_FOUND)
    query = Query.parse(question)
    if best is not None and best.shown_as_answer:
        lines = [f"（仅检索模式）{best.cited}", "最相关的原文段落：/ the best passages:"]
    else:
        lines = [f"（仅检索模式）{_say(PASSAGES_ONLY, query)}"]
    anchors = best.anchors if best is not None else {}
    lines += [f"[{n}] {p.citation}：{snippet(p.text, query, anchors.get(n))}" for n, p in enumerate(passages, 1)]
    return "\n\n".join(lines)


def spoken_answer(best: Lead | None, question: str | Query) -> str:
    """What the voice reads of a retrieval-only reply: the answer sentence alone (no citations) when one is shown as
    the answer, else one short line: that these are the related passages."""
    query = Query.parse(question)
    if best is None:
        return _say(NOTHING_FOUND, query)
    if best.shown_as_answer:
        return best.text
    return _say(PASSAGES_ONLY, query).rstrip("：:")


def _say(pair: tuple[str, str], query: Query) -> str:
    """The Chinese or the English line of ``pair``, in the question's language."""
    return pair[0] if is_chinese(query.text) else pair[1]


def snippet(text: str, question: str | Query, anchor: str | None = None, width: int | None = None) -> str:
    """About ``width`` characters of the passage (default ``SNIPPET_CHARS``; ``SNIPPET_CHARS_LATIN`` without
    Chinese): around ``anchor``, a sentence of it, when given; else where most of the question's words fall (as
    search engines show)."""
    flat = re.sub(r"\s+", " ", text.strip())
    width = width or (SNIPPET_CHARS if is_chinese(flat) else SNIPPET_CHARS_LATIN)
    if len(flat) <= width:
        return flat
    at = flat.find(re.sub(r"\s+", " ", anchor.strip())) if anchor else -1
    start = max(0, min(at - width // _ANCHOR_LEAD, len(flat) - width)) if at >= 0 else _densest(flat, question, width)
    return ("…" if start else "") + flat[start: start + width] + ("…" if start + width < len(flat) else "")


def _densest(flat: str, question: str | Query, width: int) -> int:
    """Where a ``width``-character window of ``flat`` holds most of the question's words."""
    matches, at = [], 0
    for piece, hit in highlight(flat, question):
        if hit:
            matches.append((at, piece.lower()))
        at += len(piece)

    counts = Counter(word for _, word in matches)

    def covered(start: int) -> float:  # distinct question words in the window; a word rare in the passage counts more
        inside = {word for pos, word in matches if start <= pos <= start + width - len(word)}
        return sum(len(word) / counts[word] for word in inside)

    starts = [max(0, min(pos - width // 5, len(flat) - width)) for pos, _ in matches] or [0]
    return max(starts, key=lambda s: (covered(s), -s))


def highlight(text: str, question: str | Query) -> list[tuple[str, bool]]:
    """The passage cut into (piece, matches-the-question) parts, for the sources panel."""
    keywords = Query.parse(question).keywords
    words = sorted({t for t in keywords if len(t) >= 2 and not _PARTICLES & set(t)}, key=len, reverse=True)
    if not words:
        return [(text, False)]
    pattern = re.compile("|".join(re.escape(w) for w in words), re.IGNORECASE)
    parts, last = [], 0
    for match in pattern.finditer(simplified(text)):  # same length: the book's own characters are shown
        parts += [(text[last: match.start()], False), (text[match.start(): match.end()], True)]
        last = match.end()
    return [part for part in [*parts, (text[last:], False)] if part[0]]
