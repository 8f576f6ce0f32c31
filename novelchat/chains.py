"""Ask the book: retrieval with citations, its evaluation, and the chat chains (QA, role-play, greeting).

  python ragchat.py ask "问题" [--persist DIR] [--book B] [--max-chapter N] [-k K] [--mode M]
  python ragchat.py eval --qa FILE.jsonl [--persist DIR] [-k 5] [--mode hybrid|bm25|dense]

``eval`` reads lines ``{"question", "answers": [...], "doc"?, "evidence_spans"?: [[start, end], ...]}``;
a hit is a top-k passage that contains an answer (whitespace and punctuation ignored) or overlaps
an evidence span. Its last line is ``recall@K=… mrr=… n=N``.
"""

from __future__ import annotations

import argparse
import itertools
import json
import logging
import re
import sys
import unicodedata
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage, trim_messages
from langchain_core.output_parsers import StrOutputParser
from langchain_core.prompts import ChatPromptTemplate, MessagesPlaceholder

from novelchat.answering.heuristic import Lead, lead
from novelchat.roleplay.cards import Persona
from novelchat.config import Settings, get_settings
from novelchat.answering.grounding import supported, with_citations
from novelchat.text.hanzi import simplified
from novelchat.index.lexical import query_tokens
from novelchat.models.chat import friendly_error
from novelchat.retrieval.library import Library, Mode, NoIndexError, Passage, Retrieval
from novelchat.retrieval.scope import Scope
from novelchat.roleplay.speakers import lines_of


@lru_cache(maxsize=4)
def open_library(persist_dir: Path | None = None) -> Library:
    """The index in ``persist_dir`` (default: the settings'), opened once per process."""
    settings = get_settings()
    if persist_dir is not None:
        settings = settings.with_(persist_dir=Path(persist_dir))
    return Library(settings)


def squash(text: str) -> str:
    """Lower-case simplified text without whitespace or punctuation, for answer matching."""
    folded = simplified(text).lower()
    return "".join(ch for ch in folded if not ch.isspace() and not unicodedata.category(ch).startswith(("P", "S")))


def is_hit(passage: Passage, answers: list[str], spans: list[list[int]]) -> bool:
    """Whether a passage holds an answer or overlaps a gold evidence span."""
    body = squash(passage.text)
    if any(squash(answer) and squash(answer) in body for answer in answers):
        return True
    return any(passage.start < end and start < passage.end for start, end in spans)


@dataclass
class EvalResult:
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


# --- chains ------------------------------------------------------------------------------------------
QA_SYSTEM = """【背景 Context】你是「书聊」，一位熟读《{book}》的读书助手。读者只读到了{limit}，绝不透露之后的情节。
【目标 Objective】只根据下面编号的原文段落回答读者的问题。
【风格 Style】先给出直接的答案，再用一两句话说明依据；每个事实后面用 [1]、[2] 这样的编号标出所依据的段落。
【语气 Tone】亲切、简洁，像和朋友聊书。
【受众 Audience】喜欢这本书的读者，用读者提问的语言回答。
【结果 Result】如果这些段落里没有答案，就直说“书中给出的段落里没有提到”，不要猜测，也不要编造。

原文段落：
{passages}"""

ROLEPLAY_SYSTEM = """你现在就是{name}{book_note}。始终以{name}的身份、口吻和知识说话，不要跳出角色，不要提到自己是 AI。
You are {name}. Always speak as {name}, in the first person, in {name}'s own voice;
never step out of character or mention being an AI.
【人物 Character】{description}
【性格 Personality】{personality}
【情境 Scenario】{scenario}
【说话规则 Speech rules】
{rules}
【对话示例 Example dialogue】
{examples}
【{name}在书中说过的话（模仿这种口吻，可以化用） Lines {name} says in the book: speak like this】
{lines}
读者只读到了{limit}，不要透露之后的情节。回复简短自然，一到三段。
Reply briefly and naturally, in one to three short paragraphs, in the reader's language."""

GREETING_REQUEST = "（读者刚刚来到你面前。请你以{name}的身份主动开口打个招呼，一两句话，符合情境。）"
GREETING_REQUEST_EN = "*The reader has just come up to you. Greet them in character.*"  # for a card written in English

SNIPPET_CHARS = 120  # of each passage in a retrieval-only reply
_PARTICLES = frozenset("的了是吗呢吧啊呀么")  # a character bigram holding one (伯的, 的黄) is no word to highlight
LINE_CHARS = 200  # the longest quote role-play takes as one of the character's lines
_CITATION = re.compile(r"\[(\d{1,2})\]")
_CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")


@dataclass
class ChatTurn:
    """One reply: the passages it stands on, notes for the reader, and the text as a stream of pieces."""

    passages: list[Passage]
    notes: list[str]
    stream: Iterator[str]
    spoken: str | None = None  # what the voice reads, when not the whole text (retrieval-only: the answer sentence)


def format_passages(passages: Sequence[Passage]) -> str:
    """The passages numbered [1], [2]… with their citations, as the QA prompt shows them."""
    return "\n\n".join(f"[{n}] {p.citation}\n{p.text.strip()}" for n, p in enumerate(passages, 1))


def cited_passages(answer: str, passages: Sequence[Passage]) -> list[tuple[int, Passage]]:
    """The passages an answer cites as [n], in order of first citation."""
    numbers = dict.fromkeys(int(n) for n in _CITATION.findall(answer))
    return [(n, passages[n - 1]) for n in numbers if 1 <= n <= len(passages)]


def qa_prompt() -> ChatPromptTemplate:
    return ChatPromptTemplate.from_messages(
        [("system", QA_SYSTEM), MessagesPlaceholder("history"), ("human", "{question}")]
    )


def approx_tokens(messages: Sequence[BaseMessage]) -> int:
    """Token estimate good for Chinese and English: a CJK character ≈ 1 token, other text ≈ 4 chars a token."""
    total = 0
    for message in messages:
        text = message.content if isinstance(message.content, str) else str(message.content)
        wide = sum(ord(ch) > 0x2E80 for ch in text)
        total += wide + (len(text) - wide) // 4 + 4
    return total


def trim_history(history: Sequence[BaseMessage], budget: int) -> list[BaseMessage]:
    """The most recent turns that fit in ``budget`` tokens, starting with a reader's message."""
    if budget <= 0 or not history:
        return []
    return trim_messages(list(history), max_tokens=budget, token_counter=approx_tokens, strategy="last",
                         start_on="human")


def _guarded(pieces: Iterator[str]) -> Iterator[str]:
    """Pass the model's text through; a backend failure ends the reply with one friendly line."""
    try:
        yield from pieces
    except Exception as error:  # any backend error becomes one friendly line, never a traceback
        yield f"\n\n⚠️ {friendly_error(error)}"


def answer_question(
    question: str,
    library: Library,
    llm: BaseChatModel | None,
    scope: Scope,
    *,
    k: int = 5,
    history: Sequence[BaseMessage] = (),
    history_budget: int = 1500,
) -> ChatTurn:
    """QA within the reader's scope: retrieve, then stream a grounded answer citing [n] (or, with no model, the
    passages). When no sentence of the passages holds much of what is asked, the answer opens by saying the book does
    not seem to say."""
    found = library.retrieve(question, scope, k)
    best = lead(found.passages, question, found.rarity)
    if llm is None:
        text = retrieval_only_answer(found.passages, question, best)
        return ChatTurn(found.passages, found.notes, iter([text]), spoken_answer(best, question))
    if not found.passages:
        return ChatTurn([], found.notes, iter([" / ".join(NOTHING_FOUND)]))
    title = scope.titles[0] if len(scope.titles) == 1 else "、".join(sorted({p.book for p in found.passages}))
    chain = qa_prompt() | llm | StrOutputParser()
    stream = chain.stream({
        "book": title, "limit": scope.describe(), "passages": format_passages(found.passages),
        "question": question, "history": trim_history(history, history_budget),
    })
    pieces = with_citations(stream, found.passages, question)
    if not supported(question, found.passages, best):  # the passages hold little of what is asked: say so first
        pieces = itertools.chain([f"（{' / '.join(NOT_SAID)}）\n\n"], pieces)
    return ChatTurn(found.passages, found.notes, _guarded(pieces))


NOTHING_FOUND = ("书中没有找到相关段落。", "Nothing in the book matches.")
NOT_SAID = ("书中似乎没有提到这一点。", "The book does not seem to say.")


def retrieval_only_answer(passages: Sequence[Passage], question: str, best: Lead | None = None) -> str:
    """What the reader sees with no chat model: the sentence that answers, cited, then the passages, each cut where
    the question's words are. When no sentence holds much of the question, it says the book does not seem to say,
    and shows the closest sentence all the same."""
    if not passages:
        return " / ".join(NOTHING_FOUND)
    best = best or lead(passages, question)
    cited = "".join(f"{s.text} [{s.number}]" for s in best.sentences) if best else ""
    opening = cited if best and best.answered else f"{' / '.join(NOT_SAID)} 最接近的是 / closest: {cited}"
    lines = [f"（仅检索模式）{opening}", "最相关的原文段落：/ the best passages:"]
    lines += [f"[{n}] {p.citation}：{snippet(p.text, question)}" for n, p in enumerate(passages, 1)]
    return "\n\n".join(lines)


def spoken_answer(best: Lead | None, question: str) -> str:
    """What the voice reads of a retrieval-only reply: the answer sentence alone, no citations or offsets."""
    if best is not None and best.answered:
        return best.text
    chinese, english = NOTHING_FOUND if best is None else NOT_SAID
    return chinese if _CJK.search(question) else english


def snippet(text: str, question: str, width: int = SNIPPET_CHARS) -> str:
    """About ``width`` characters of the passage where most of the question's words fall (as search engines show)."""
    flat = re.sub(r"\s+", " ", text.strip())
    if len(flat) <= width:
        return flat
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
    start = max(starts, key=lambda s: (covered(s), -s))
    return ("…" if start else "") + flat[start: start + width] + ("…" if start + width < len(flat) else "")


def character_lines(passages: Sequence[Passage], persona: Persona, limit: int = 8) -> list[str]:
    """Quoted lines the character really says in the passages, as ``speakers.py`` reads the tags (林晓道：, 」何伯说。);
    a quote whose speaker the text does not make plain is left out, never guessed."""
    lines: list[str] = []
    for passage in passages:
        for said in lines_of(passage.text, persona.names):
            if 2 <= len(said) <= LINE_CHARS and said not in lines:
                lines.append(said)
    return lines[:limit]


def roleplay_messages(
    persona: Persona,
    message: str,
    lines: Sequence[str],
    history: Sequence[BaseMessage],
    history_budget: int,
    scope: Scope,
) -> list[BaseMessage]:
    """The role-play prompt: persona, speech rules, the character's own lines, trimmed history, the message; the
    reader's place in the book (``scope``) is in it, and a card drafted from later chapters than that is not.

    A card's lorebook entries mentioned in the last turns join the system prompt; its own ``system_prompt`` wraps
    NovelChat's (at ``{{original}}``, else before it), and its ``post_history_instructions`` close it.
    """
    persona = visible_persona(persona, scope)
    trimmed = trim_history(history, history_budget)
    system = ROLEPLAY_SYSTEM.format(
        name=persona.name,
        book_note=f"（《{persona.book}》中的人物）" if persona.book else "",
        description=persona.fill(persona.description), personality=persona.fill(persona.personality),
        scenario=persona.fill(persona.scenario),
        rules="\n".join(f"- {rule}" for rule in persona.speech_rules) or "- 保持人物一贯的说话方式",
        examples=persona.fill(persona.mes_example).replace("<START>", "").strip() or "（无）",
        lines="\n".join(f"- “{line}”" for line in lines) or "（无）",
        limit=scope.describe(),
    )
    lore = persona.lore_for([*(str(m.content) for m in trimmed[-2:]), message])
    if lore:
        system += "\n【设定（角色卡的世界书）】\n" + "\n".join(f"- {entry}" for entry in lore)
    if persona.system_prompt:
        card = persona.fill(persona.system_prompt)
        system = card.replace("{{original}}", system) if "{{original}}" in card else f"{card}\n\n{system}"
    if persona.post_history_instructions:
        system += f"\n【每次回复都要遵守】{persona.fill(persona.post_history_instructions)}"
    return [SystemMessage(system), *trimmed, HumanMessage(message)]


def roleplay_reply(
    message: str,
    persona: Persona,
    library: Library | None,
    llm: BaseChatModel | None,
    scope: Scope,
    *,
    history: Sequence[BaseMessage] = (),
    history_budget: int = 1500,
) -> ChatTurn:
    """Role-play: retrieve the character's lines for this message (ChatHaruhi's idea) from the character's book as
    far as the reader has read it (``scope``), then reply in character."""
    found = Retrieval([], [])
    own = scope.only(persona.book)
    if library and own.read_to and persona.book in {b.title for b in library.books()}:
        found = library.retrieve(f"{persona.name} {message}", own, 8)
    lines = character_lines(found.passages, persona)
    if llm is None:
        said = " ".join(f"“{line}”" for line in lines[:3])
        text = f"（仅检索模式）{persona.name}在书中说过：{said}" if said else visible_persona(persona, scope).opening()
        return ChatTurn(found.passages, found.notes, iter([text]))
    messages = roleplay_messages(persona, message, lines, history, history_budget, scope)
    return ChatTurn(found.passages, found.notes, _guarded(llm.pipe(StrOutputParser()).stream(messages)))


def visible_persona(persona: Persona, scope: Scope) -> Persona:
    """The card as the reader may see it: one NovelChat drafted from chapters past the reader's limit for its book
    keeps only what does not come from those chapters (``Persona.as_read_to``)."""
    limit = scope.limit(persona.book) if persona.book in scope.titles else None
    return persona.as_read_to(limit)


def greeting(persona: Persona | None, scope: Scope, llm: BaseChatModel | None = None) -> str:
    """The proactive first message: the card's first_mes (or one generated in character, knowing where the reader
    is in the book), or the guide's hello naming the books and how far the reader has read."""
    if persona is None:
        titles = "、".join(f"《{title}》" for title in scope.titles) or "（还没有书 / no books yet）"
        limits = [f"《{title}》第 {chapter} 章" for title, chapter in scope.read_to if chapter is not None]
        held = f"你读到{'、'.join(limits)}，之后的内容我不会提。" if limits else ""
        return (f"你好！我是书聊，读过{titles}。{held}问我书里的任何事，我会引用原文回答；也可以切换到角色扮演，"
                "和书中人物聊天。\nHello! Ask me anything about the book, or switch to role-play.")
    visible = visible_persona(persona, scope)
    if llm is not None and not visible.first_mes:
        try:
            chinese = _CJK.search(visible.name + visible.description + visible.scenario)
            ask = (GREETING_REQUEST if chinese else GREETING_REQUEST_EN).format(name=persona.name)
            request = roleplay_messages(persona, ask, [], [], 0, scope)  # it shows the card as ``visible``
            return (llm | StrOutputParser()).invoke(request).strip()
        except Exception as error:  # a failing backend must not block the greeting: fall back to the card
            logging.getLogger(__name__).warning("no greeting generated for %s (%s: %s); the card's opening instead",
                                                persona.name, type(error).__name__, error)
    return visible.opening()


def highlight(text: str, question: str) -> list[tuple[str, bool]]:
    """The passage cut into (piece, matches-the-question) parts, for the sources panel."""
    words = sorted({t for t in query_tokens(question) if len(t) >= 2 and not _PARTICLES & set(t)}, key=len,
                   reverse=True)
    if not words:
        return [(text, False)]
    pattern = re.compile("|".join(re.escape(w) for w in words), re.IGNORECASE)
    parts, last = [], 0
    for match in pattern.finditer(simplified(text)):  # same length: the book's own characters are shown
        parts += [(text[last: match.start()], False), (text[match.start(): match.end()], True)]
        last = match.end()
    return [part for part in [*parts, (text[last:], False)] if part[0]]


def to_messages(turns: Sequence[tuple[str, str]]) -> list[BaseMessage]:
    """Chat history as LangChain messages, from (role, text) pairs with role "user" or "assistant"."""
    return [HumanMessage(text) if role == "user" else AIMessage(text) for role, text in turns]


def transcript_markdown(title: str, turns: Sequence[tuple[str, str, Sequence[tuple[str, str]]]]) -> str:
    """A conversation as Markdown for the reader to keep: (speaker, text, [(citation, passage)]) per turn."""
    lines = [f"# {title}", ""]
    for speaker, text, sources in turns:
        lines += [f"**{speaker}**：", "", text.strip(), ""]
        for number, (citation, passage) in enumerate(sources, 1):
            quoted = [f"> {line.strip()}" for line in passage.splitlines() if line.strip()]
            lines += [f"> **[{number}] {citation}**", ">", *quoted, ""]
    return "\n".join(lines)


# --- command line --------------------------------------------------------------------------------------
def _print_passages(result: Retrieval) -> None:
    for note in result.notes:
        print(f"注意 / note: {note}")
    for number, passage in enumerate(result.passages, 1):
        ranks = f"bm25 #{passage.lexical_rank or '-'}, dense #{passage.dense_rank or '-'}"
        print(f"[{number}] {passage.citation}  score={passage.score:.4f} ({ranks})")
        print("    " + passage.text.strip().replace("\n", "\n    "))


def cli_scope(library: Library, book: str | None, max_chapter: int | None) -> Scope:
    """The scope the command line asks for: one book or all, each read to ``max_chapter`` (None: to the end)."""
    titles = [library.find_book(book).title] if book else [entry.title for entry in library.books()]
    return Scope.of(dict.fromkeys(titles, max_chapter))


def main(argv: list[str] | None = None) -> int:
    settings: Settings = get_settings()
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    ask = commands.add_parser("ask", help="print the passages that answer a question")
    ask.add_argument("question")
    ask.add_argument("--book", help="book title or file name (default: all books)")
    ask.add_argument("--max-chapter", type=int, help="spoiler limit: nothing after this chapter")
    evaluation = commands.add_parser("eval", help="recall@k and MRR on a QA file")
    evaluation.add_argument("--qa", type=Path, required=True, help="JSON lines: question, answers, doc, evidence_spans")
    evaluation.add_argument("-v", "--verbose", action="store_true", help="print every question's rank")
    for sub in (ask, evaluation):
        sub.add_argument("--persist", type=Path, default=settings.persist_dir, help="index folder (%(default)s)")
        sub.add_argument("-k", type=int, default=settings.top_k, help="passages per question (default: %(default)s)")
        sub.add_argument("--mode", choices=["hybrid", "bm25", "dense"], default="hybrid")
    args = parser.parse_args(argv)
    library = open_library(args.persist)
    try:
        if args.command == "ask":
            _print_passages(library.retrieve(args.question, cli_scope(library, args.book, args.max_chapter), args.k,
                                             args.mode))
        else:
            result = evaluate(args.qa, args.k, args.mode, library, print if args.verbose else None)
            print(f"recall@{args.k}={result.recall:.3f} mrr={result.mrr:.3f} n={result.n}")
    except NoIndexError as error:
        print(f"错误 / error: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
