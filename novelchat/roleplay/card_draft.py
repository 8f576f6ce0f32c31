"""Draft a persona card for any character of an indexed book, so role-play works for every book, not only ours.

ChatHaruhi's idea: a character is best described by what they say. The passages that mention the name are
retrieved, the character's own quoted lines become the card's examples, and — when a chat model is configured —
the model drafts description, personality, scenario, greeting and speech rules from them (as JSON). Without a
model, or when its answer is not usable, the card is built from the book alone. The result is a Character Card V2
file in the characters folder, which the reader can edit like any other card.

A card is drafted within the reader's scope: only chapters the reader has read are searched, and the card records
the last chapter it draws on (``drafted_to``), so a reader who has read less never sees it whole.
"""

from __future__ import annotations

import json
import logging
import re
from pathlib import Path

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import HumanMessage
from langchain_core.output_parsers import StrOutputParser

from novelchat.answering.qa import format_passages
from novelchat.errors import NovelChatError
from novelchat.retrieval.library import Library
from novelchat.retrieval.scope import Scope
from novelchat.roleplay.book_cast import book_cast, with_cast_names
from novelchat.roleplay.cards import Persona, parse_card
from novelchat.roleplay.chains import character_lines
from novelchat.text.hanzi import is_chinese, simplified

DRAFT_REQUEST = """下面是小说《{book}》中与「{name}」有关的段落，以及{name}亲口说过的话。
请据此为{name}写一张角色扮演用的人物卡，只输出一个 JSON 对象，不要输出其他文字。字段：
"description"（身份、外貌、经历，80–200 字），"personality"（性格与说话方式，40–100 字），
"scenario"（读者遇见{name}的情境，一两句），"first_mes"（{name}主动对读者说的第一句话，符合人物口吻），
"speech_rules"（3–5 条说话规则的数组，例如自称、称呼别人的方式、口头禅）。只写书中有依据的内容。

{name}说过的话：
{lines}

段落：
{passages}"""
DRAFT_REQUEST_EN = """Below are passages of the novel "{book}" about {name}, and lines {name} says in it.
From them, write a role-play character card for {name}, in English. Output only one JSON object, nothing else.
Fields: "description" (who they are, looks, story: 50–120 words), "personality" (character and way of speaking,
25–60 words), "scenario" (where the reader meets {name}: one or two sentences), "first_mes" (the first thing {name}
says to the reader, in their own voice), "speech_rules" (an array of 3–5 rules: how they address others, set phrases).
Write only what the book supports.

Lines of {name}:
{lines}

Passages:
{passages}"""

log = logging.getLogger(__name__)
_JSON_OBJECT = re.compile(r"\{.*\}", re.DOTALL)
_UNSAFE_IN_NAME = re.compile(r"[^\w]+")


class CardDraftError(NovelChatError, ValueError):
    """The card cannot be drafted (no such name in the book, or a card of that name exists); one friendly line."""


def draft_card(name: str, scope: Scope, library: Library, llm: BaseChatModel | None = None) -> dict:
    """A Character Card V2 for ``name`` from the one book of ``scope``, as far as the reader has read it: lines from
    the book, the rest drafted by the model if any."""
    name = name.strip()
    if not name:
        raise CardDraftError("请填写角色名 / enter the character's name")
    (book,) = scope.titles
    persona = with_cast_names(Persona(name=name, book=book), book_cast(library, book).within(scope.limit(book)))
    wanted = [simplified(n) for n in persona.names]  # 林晓 is 林曉 in a 繁體 book; 钱满仓 is tagged 钱掌柜
    passages = [p for p in library.retrieve(" ".join(persona.names), scope, 12, mode="bm25").passages
                if any(n in simplified(p.text) for n in wanted)]
    if not passages:
        raise CardDraftError(f"《{book}》{_read_so_far(scope.limit(book))}里没有找到「{name}」/ no {name!r} in {book}")
    lines = [line for line in character_lines(passages, persona, limit=12) if len(line) >= 4]
    spoken = next((line for line in lines if len(line) >= 8), lines[0] if lines else "")
    chinese = is_chinese("".join(p.text for p in passages))
    fields = {
        "description": f"《{book}》中的人物{name}。" if chinese else f"A character in {book}.",
        "personality": "",
        "scenario": f"读者在《{book}》的故事里遇见了{name}。" if chinese else f"The reader meets {name} in {book}.",
        "first_mes": f"“{spoken}”" if spoken else Persona(name=name).opening(),
        "speech_rules": [],
    }
    if llm is not None:
        fields.update(_drafted_fields(name, book, lines, passages, llm, chinese))
    examples = "\n".join(f"<START>\n{{{{char}}}}: {line}" for line in lines[:4])
    return {
        "spec": "chara_card_v2",
        "spec_version": "2.0",
        "data": {
            "name": name, "description": fields["description"], "personality": fields["personality"],
            "scenario": fields["scenario"], "first_mes": fields["first_mes"], "mes_example": examples,
            "creator_notes": f"Drafted by NovelChat from {book} ({'with a chat model' if llm else 'book only'}).",
            "tags": [book],
            "extensions": {"novelchat": {
                "book": book, "aliases": persona.aliases, "speech_rules": fields["speech_rules"],
                "drafted_to": max(p.chapter for p in passages),
            }},
        },
    }


def _read_so_far(limit: int | None) -> str:
    return "" if limit is None else f"前 {limit} 章"


def _drafted_fields(name: str, book: str, lines: list[str], passages: list, llm: BaseChatModel,
                    chinese: bool = True) -> dict:
    """The model's description, personality, scenario, greeting and rules, asked for in the book's language; {}
    (logged) when its answer is not usable: the card is then built from the book alone."""
    said = "\n".join(f"- “{line}”" for line in lines) or ("（无）" if chinese else "(none)")
    request = (DRAFT_REQUEST if chinese else DRAFT_REQUEST_EN).format(
        book=book, name=name, passages=format_passages(passages[:6]), lines=said)
    try:
        answer = (llm | StrOutputParser()).invoke([HumanMessage(request)])
    except NovelChatError as error:  # the model is unavailable: its one line, and the card built from the book
        log.warning("the chat model could not draft %s's card (%s); the card is made from the book alone",
                    name, error.friendly)
        return {}
    except Exception as error:  # a failing backend or a bug: its traceback, and the card built from the book
        log.exception("the chat model could not draft %s's card (%s: %s); the card is made from the book alone",
                      name, type(error).__name__, error)
        return {}
    drafted = _json_object(answer)
    if drafted is None:
        log.warning("the chat model's draft of %s's card is not a JSON object (%r); the card is made from the book "
                    "alone", name, answer[:200])
        return {}
    fields = {key: str(drafted[key]).strip() for key in ("description", "personality", "scenario", "first_mes")
              if isinstance(drafted.get(key), str) and drafted[key].strip()}
    rules = drafted.get("speech_rules")
    if isinstance(rules, list):
        fields["speech_rules"] = [str(rule).strip() for rule in rules if str(rule).strip()][:8]
    return fields


def _json_object(answer: str) -> dict | None:
    """The JSON object in a model's answer (it may talk around it), or None."""
    found = _JSON_OBJECT.search(answer)
    try:
        drafted = json.loads(found.group(0)) if found else None
    except json.JSONDecodeError:
        return None
    return drafted if isinstance(drafted, dict) else None


def save_card(card: dict, folder: Path) -> Path:
    """Write the card as ``<name>-<book>.json``; an existing card is never overwritten."""
    persona = parse_card(card)
    folder.mkdir(parents=True, exist_ok=True)
    stem = _UNSAFE_IN_NAME.sub("_", f"{persona.name}-{persona.book}")
    path = folder / f"{stem}.json"
    if path.exists():
        raise CardDraftError(f"已有角色卡 {path.name} / a card {path.name} exists already")
    path.write_text(json.dumps(card, ensure_ascii=False, indent=2), encoding="utf-8")
    return path
