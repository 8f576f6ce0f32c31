"""Role-play with a character of the book: the prompt (card, speech rules, the character's own lines from the book,
trimmed history), the reply, and the proactive greeting; never past where the reader has read."""

from __future__ import annotations

import logging
from collections.abc import Sequence

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import BaseMessage, HumanMessage, SystemMessage
from langchain_core.output_parsers import StrOutputParser

from novelchat.answering.turn import ChatTurn, guarded, trim_history
from novelchat.config import Settings
from novelchat.errors import NovelChatError
from novelchat.models.errors import known_cause
from novelchat.retrieval.library import Library
from novelchat.retrieval.passages import Passage, Retrieval
from novelchat.retrieval.scope import Scope
from novelchat.roleplay.book_cast import book_cast, with_cast_names
from novelchat.roleplay.brevity import at_most_sentences, length_rule
from novelchat.roleplay.cards import Persona
from novelchat.roleplay.speakers import lines_of
from novelchat.text.hanzi import is_chinese

logger = logging.getLogger(__name__)

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
读者只读到了{limit}，不要透露之后的情节。{length}"""

GREETING_REQUEST = "（读者刚刚来到你面前。请你以{name}的身份主动开口打个招呼，一两句话，符合情境。）"
GREETING_REQUEST_EN = "*The reader has just come up to you. Greet them in character.*"  # for a card written in English
LINE_CHARS = 200  # the longest quote role-play takes as one of the character's lines
MAX_SENTENCES: int = Settings.model_fields["roleplay_max_sentences"].default  # a reply's length, unless told


def character_lines(passages: Sequence[Passage], persona: Persona, limit: int = 8) -> list[str]:
    """Quoted lines the character really says in the passages, as ``speakers.py`` reads the tags (林晓道：, 」何伯说。);
    a quote whose speaker the text does not make plain is left out, never guessed."""
    lines: list[str] = []
    for passage in passages:
        for said in lines_of(passage.text, persona.names):
            if 2 <= len(said) <= LINE_CHARS and said not in lines:
                lines.append(said)
    return lines[:limit]


def visible_persona(persona: Persona, scope: Scope) -> Persona:
    """The card as the reader may see it: one NovelChat drafted from chapters past the reader's limit for its book
    keeps only what does not come from those chapters (``Persona.as_read_to``)."""
    limit = scope.limit(persona.book) if persona.book in scope.titles else None
    return persona.as_read_to(limit)


def roleplay_messages(
    persona: Persona,
    message: str,
    lines: Sequence[str],
    history: Sequence[BaseMessage],
    history_budget: int,
    scope: Scope,
    max_sentences: int = MAX_SENTENCES,
) -> list[BaseMessage]:
    """The role-play prompt: persona, speech rules, the character's own lines, trimmed history, the message; the
    reader's place in the book (``scope``) is in it, and a card drafted from later chapters than that is not. It asks
    for at most ``max_sentences`` sentences (0: one to three short paragraphs).

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
        length=length_rule(max_sentences),
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
    max_sentences: int = MAX_SENTENCES,
) -> ChatTurn:
    """Role-play: retrieve the character's lines for this message (ChatHaruhi's idea) from the character's book as
    far as the reader has read it (``scope``), under every name the book gives them when the card lists none; then
    reply in character, in at most ``max_sentences`` sentences (0: no limit): the reply, and the model's
    generation, stop after them."""
    found = Retrieval([], [])
    own = scope.only(persona.book)
    if library and own.read_to and persona.book in {b.title for b in library.books()}:
        persona = with_cast_names(persona, book_cast(library, persona.book))  # a card without aliases: the book's
        found = library.retrieve(f"{persona.name} {message}", own, 8)
    lines = character_lines(found.passages, persona)
    if llm is None:
        said = " ".join(f"“{line}”" for line in lines[:3])
        text = f"（仅检索模式）{persona.name}在书中说过：{said}" if said else visible_persona(persona, scope).opening()
        return ChatTurn(found.passages, found.notes, iter([text]))
    messages = roleplay_messages(persona, message, lines, history, history_budget, scope, max_sentences)
    reply = at_most_sentences(llm.pipe(StrOutputParser()).stream(messages), max_sentences)
    return ChatTurn(found.passages, found.notes, guarded(reply))


def greeting(persona: Persona | None, scope: Scope, llm: BaseChatModel | None = None, lang: str = "zh") -> str:
    """The proactive first message: the card's first_mes (or one generated in character, knowing where the reader
    is in the book), or the guide's hello naming the books and how far the reader has read (in ``lang``)."""
    if persona is None and lang == "en":
        titles = ", ".join(f"*{title}*" for title in scope.titles) or "no books yet"
        limits = [f"chapter {chapter} of *{title}*" for title, chapter in scope.read_to if chapter is not None]
        held = f" You have read to {', '.join(limits)}: I will not mention anything later." if limits else ""
        return (f"Hello! I am NovelChat, and I have read {titles}.{held} Ask me anything about the book and I will "
                "answer from its text, citing it; or switch to role-play to talk with its characters.")
    if persona is None:
        titles = "、".join(f"《{title}》" for title in scope.titles) or "（还没有书 / no books yet）"
        limits = [f"《{title}》第 {chapter} 章" for title, chapter in scope.read_to if chapter is not None]
        held = f"你读到{'、'.join(limits)}，之后的内容我不会提。" if limits else ""
        return (f"你好！我是书聊，读过{titles}。{held}问我书里的任何事，我会引用原文回答；也可以切换到角色扮演，"
                "和书中人物聊天。\nHello! Ask me anything about the book, or switch to role-play.")
    visible = visible_persona(persona, scope)
    if llm is not None and not visible.first_mes:
        try:
            chinese = is_chinese(visible.name + visible.description + visible.scenario)
            ask = (GREETING_REQUEST if chinese else GREETING_REQUEST_EN).format(name=persona.name)
            request = roleplay_messages(persona, ask, [], [], 0, scope)  # it shows the card as ``visible``
            return (llm | StrOutputParser()).invoke(request).strip()
        except Exception as error:  # a failing backend must not block the greeting: fall back to the card
            _greeting_failed(persona.name, error)
    return visible.opening()


def _greeting_failed(name: str, error: Exception) -> None:
    """Log why no greeting was generated: one line for a failure the user can act on, a traceback for a bug."""
    message = "no greeting generated for %s (%s: %s); the card's opening instead"
    if isinstance(error, NovelChatError):
        logger.warning(message, name, type(error).__name__, error.friendly)
    elif known_cause(error) is not None:
        logger.warning(message, name, type(error).__name__, error)
    else:
        logger.exception(message, name, type(error).__name__, error)
