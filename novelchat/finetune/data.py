"""Fine-tuning data from an indexed book: a character's dialogue (and, with a chat model, cited QA pairs).

Dialogue: every quote the speaker attribution (:mod:`speakers`) gives to the character becomes one example — the
role-play system prompt built from the character's card (the same prompt the app uses, so training matches serving),
a scene line condensed from the narration before it, the quotes just before it in the same stretch of text (the
character's own as assistant turns, anyone else's as the reader's side) and the line itself as the reply. Quotes with
unknown speakers are never replies. Nothing past the reader's chapter limit is used. Duplicates are dropped.

Formats: OpenAI / ShareGPT ``messages`` JSONL, and XTuner's ``conversation`` JSON (an XTuner config reads it as is).
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import BaseMessage, HumanMessage
from langchain_core.output_parsers import StrOutputParser

from novelchat.answering.turn import approx_tokens
from novelchat.retrieval.library import Library
from novelchat.retrieval.scope import Scope
from novelchat.roleplay.book_cast import other_names, with_cast_names
from novelchat.roleplay.cards import Persona, load_personas
from novelchat.roleplay.cast import Cast
from novelchat.roleplay.chains import roleplay_messages
from novelchat.roleplay.quotes import Quote
from novelchat.roleplay.speakers import attribute
from novelchat.text.sentences import split_sentences

Messages = list[dict[str, str]]
CONTEXT_QUOTES = 4  # quotes before the reply kept as turns
CONTEXT_CHARS = 400  # how far back (in characters) those quotes may stand
SCENE_CHARS = 80  # the scene line: at most this much of the narration just before
QA_REQUEST = """根据下面这段《{book}》原文，出一个读者可能会问的问题，并只根据原文回答。
只输出一个 JSON 对象：{{"question": "…", "answer": "…"}}，不要输出其他文字。

原文（{citation}）：
{passage}"""
QA_SYSTEM = "你是《{book}》的读书助手：只根据原文回答，并注明出处。"
_JSON_OBJECT = re.compile(r"\{.*\}", re.DOTALL)


@dataclass(frozen=True)
class DatasetStats:
    """What an export holds: examples, characters of text, approximate tokens."""

    examples: int
    chars: int
    tokens: int

    def line(self) -> str:
        return f"{self.examples} examples, {self.chars} characters, ≈ {self.tokens} tokens"


def find_cast(character: str, book: str, folder: Path, cast: Cast | None = None) -> tuple[Persona, list[list[str]]]:
    """The character's card (by name or alias; else a bare card with the name) with every name the book's ``cast``
    uses for them when the card lists none, and the names of the book's other characters (their cards, then the
    cast), so that speaker attribution tells them apart."""
    cards = [p for p in load_personas(folder) if p.book in ("", book)]
    persona = next((p for p in cards if character in p.names), Persona(name=character, book=book))
    persona = with_cast_names(persona, cast)
    return persona, other_names(cast, persona, [p.names for p in cards if p.book == book and p.name != persona.name])


def lines_per_name(persona: Persona, cast: Cast | None, max_chapter: int | None) -> dict[str, int]:
    """How many lines the book gives each of the character's names (as the cast found them), up to ``max_chapter``."""
    found = cast.within(max_chapter).find(persona.name) if cast else None
    return {name: found.count(name) for name in found.names if found.count(name)} if found else {}


def book_text(library: Library, book: str, max_chapter: int | None) -> str:
    """The book's text up to the end of chapter ``max_chapter`` (the whole book when None)."""
    loaded = library.loaded(library.find_book(book))
    if max_chapter is None:
        return loaded.text
    allowed = loaded.chapter <= max_chapter
    return loaded.text[: int(loaded.end[allowed].max())] if allowed.any() else ""


def dialogue_examples(text: str, persona: Persona, system: str, others: Sequence[Sequence[str]] = ()) -> list[Messages]:
    """One example per line the character says in ``text``: system, scene, preceding turns, the line.
    ``others``: the names of the book's other characters (their cards), so that fewer lines go unattributed."""
    quotes = attribute(text, [persona.names, *others])
    examples, seen = [], set()
    for i, quote in enumerate(quotes):
        if quote.speaker != persona.name:
            continue
        context = [q for q in quotes[max(0, i - CONTEXT_QUOTES) : i] if quote.start - q.end <= CONTEXT_CHARS]
        example = _example(text, quote, context, persona.name, system)
        key = json.dumps(example[1:], ensure_ascii=False)
        if key not in seen:
            seen.add(key)
            examples.append(example)
    return examples


def _example(text: str, reply: Quote, context: list[Quote], name: str, system: str) -> Messages:
    """The turns before ``reply`` (merged where one side speaks twice), opened by the scene line."""
    first = context[0].start if context else reply.start
    scene = _scene(text[max(0, first - 2 * SCENE_CHARS) : first])
    turns: Messages = [{"role": "user", "content": f"（{scene}）" if scene else f"（{name}开口了。）"}]
    for quote in context:
        role = "assistant" if quote.speaker == name else "user"
        said = quote.text if role == "assistant" or not quote.speaker else f"{quote.speaker}：{quote.text}"
        if turns[-1]["role"] == role:
            turns[-1]["content"] += "\n" + said
        else:
            turns.append({"role": role, "content": said})
    if turns[-1]["role"] == "assistant":  # the character spoke twice in a row: the narration between stands in
        turns.append({"role": "user", "content": f"（{_scene(text[context[-1].end : reply.start]) or '……'}）"})
    return [{"role": "system", "content": system}, *turns, {"role": "assistant", "content": reply.text}]


def _scene(narration: str) -> str:
    """The last sentences of the narration, up to ``SCENE_CHARS`` characters, quotes left out."""
    plain = re.sub(r"[“「『\"][^”」』\"]*[”」』\"]?", "", narration.split("\n\n")[-1])
    sentences = [s for s in split_sentences(plain) if any(c.isalnum() for c in s)]  # no stray marks
    scene = ""
    for sentence in reversed(sentences):
        if len(scene) + len(sentence) > SCENE_CHARS:
            break
        scene = sentence + scene
    return scene


def system_prompt(persona: Persona, max_chapter: int | None) -> str:
    """The app's role-play system prompt for this card, for a reader at ``max_chapter`` of its book (no retrieved
    lines: the model learns them)."""
    return str(roleplay_messages(persona, "", [], [], 0, Scope.of({persona.book: max_chapter}))[0].content)


def qa_examples(library: Library, book: str, llm: BaseChatModel, max_chapter: int | None, count: int) -> list[Messages]:
    """Question–answer pairs the model writes from evenly spaced passages, each answer keeping its citation."""
    loaded = library.loaded(library.find_book(book))
    indexes = [i for i in range(len(loaded.start)) if max_chapter is None or loaded.chapter[i] <= max_chapter]
    step = max(1, len(indexes) // max(count, 1))
    examples = []
    for i in indexes[::step][:count]:
        citation = f"《{book}》第 {int(loaded.chapter[i])} 章 {loaded.chapter_title[i]}".strip()
        request = QA_REQUEST.format(book=book, citation=citation, passage=loaded.chunk_text(i).strip())
        pair = _json_object((llm | StrOutputParser()).invoke([HumanMessage(request)]))
        if pair.get("question") and pair.get("answer"):
            examples.append(
                [
                    {"role": "system", "content": QA_SYSTEM.format(book=book)},
                    {"role": "user", "content": str(pair["question"])},
                    {"role": "assistant", "content": f"{pair['answer']}（出处：{citation}）"},
                ]
            )
    return examples


def _json_object(answer: str) -> dict:
    found = _JSON_OBJECT.search(answer)
    try:
        value = json.loads(found.group()) if found else {}
    except json.JSONDecodeError:
        return {}
    return value if isinstance(value, dict) else {}


def to_xtuner(example: Messages) -> dict:
    """XTuner's ``conversation`` record: turns of input/output, the system prompt on the first."""
    system = "".join(m["content"] for m in example if m["role"] == "system")
    turns, pending = [], []
    for message in example:
        if message["role"] == "user":
            pending.append(message["content"])
        elif message["role"] == "assistant":
            turns.append({"input": "\n".join(pending), "output": message["content"]})
            pending = []
    if turns and system:
        turns[0] = {"system": system, **turns[0]}
    return {"conversation": turns}


def write_dataset(examples: Sequence[Messages], path: Path, fmt: str) -> DatasetStats:
    """Write ``messages`` JSONL (fmt "messages") or XTuner conversation JSON (fmt "xtuner"); return the stats."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if fmt == "xtuner":
        path.write_text(json.dumps([to_xtuner(e) for e in examples], ensure_ascii=False, indent=1), encoding="utf-8")
    else:
        lines = (json.dumps({"messages": e}, ensure_ascii=False) for e in examples)
        path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    chars = sum(len(m["content"]) for e in examples for m in e)
    tokens = sum(approx_tokens([_message(m) for m in e]) for e in examples)
    return DatasetStats(len(examples), chars, tokens)


def _message(message: dict[str, str]) -> BaseMessage:
    return HumanMessage(message["content"])
