"""One reply of a chat, as the UI receives it (``ChatTurn``), and the conversation before it, trimmed to a budget."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, trim_messages

from novelchat.errors import NovelChatError
from novelchat.models.errors import explain
from novelchat.retrieval.passages import Passage


@dataclass
class ChatTurn:
    """One reply: the passages it stands on, notes for the reader, and the text as a stream of pieces."""

    passages: list[Passage]
    notes: list[str]
    stream: Iterator[str]
    spoken: str | None = None  # what the voice reads, when not the whole text (retrieval-only: the answer sentence)


def guarded(pieces: Iterator[str]) -> Iterator[str]:
    """Pass the model's text through; a failure ends the reply with one line, never a traceback: a NovelChatError's
    ``friendly`` text, a backend failure's known cause, or a generic line for a bug (logged with its traceback)."""
    try:
        yield from pieces
    except NovelChatError as error:
        yield f"\n\n⚠️ {error.friendly}"
    except Exception as error:  # shown as one line; ``explain`` logs one with no known cause (a bug)
        yield f"\n\n⚠️ {explain(error, 'the chat model writing a reply')}"


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


def to_messages(turns: Sequence[tuple[str, str]]) -> list[BaseMessage]:
    """Chat history as LangChain messages, from (role, text) pairs with role "user" or "assistant"."""
    return [HumanMessage(text) if role == "user" else AIMessage(text) for role, text in turns]
