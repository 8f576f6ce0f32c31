"""The conversation on screen: each message with its sources, and the reply to a new question written as it streams
(spoken if asked). A reply that fails is one line in the conversation, never a traceback."""

from __future__ import annotations

import html
from datetime import datetime

import streamlit as st
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import BaseMessage
from streamlit.delta_generator import DeltaGenerator

from novelchat.answering.qa import answer_question, highlight
from novelchat.answering.turn import ChatTurn, to_messages
from novelchat.config import Settings
from novelchat.retrieval.library import Library
from novelchat.roleplay.cards import Persona
from novelchat.roleplay.chains import roleplay_reply
from novelchat.ui.i18n import for_page
from novelchat.ui.messages import friendly_message
from novelchat.ui.speech import ReplyVoice, start_speech
from novelchat.ui.state import answer_reader
from novelchat.ui.transcript import transcript_markdown
from novelchat.voice import audio_mime


def conversation(messages: list[dict], choices: dict, library: Library, llm: BaseChatModel | None,
                 settings: Settings, t: dict) -> None:
    """Every message, and a reply written under each question that has none: the new one, or one whose reply a
    rerun cut short (in Streamlit the reader's next message, or any click, stops the run writing a reply)."""
    index = 0
    while index < len(messages):
        show_message(messages[index], choices, t)
        if unanswered(messages, index):
            messages.insert(index + 1, respond(messages[:index + 1], choices, library, llm, settings, t))
            index += 1  # shown while it was written
        index += 1


def unanswered(messages: list[dict], index: int) -> bool:
    """Whether the message at ``index`` is the reader's, with no reply after it."""
    following = messages[index + 1]["role"] if index + 1 < len(messages) else None
    return messages[index]["role"] == "user" and following != "assistant"


def show_message(message: dict, choices: dict, t: dict) -> None:
    """A kept message: its text, its audio if it was spoken, its sources."""
    with st.chat_message(message["role"], avatar=avatar(message["role"], choices)):
        show_text(st.empty(), message["content"], message.get("verbatim", False))
        if message.get("audio"):
            st.audio(message["audio"], format=audio_mime(message["audio"]))
        sources_panel(message["sources"], t)


def respond(asked: list[dict], choices: dict, library: Library, llm: BaseChatModel | None, settings: Settings,
            t: dict) -> dict:
    """The reply to the last message of ``asked`` (the ones before it are the history): streamed (spoken if asked)
    with its sources, and returned to be kept. A failure, before or while it is written, ends it with one line."""
    prompt = asked[-1]["content"]
    history = to_messages([(m["role"], m["content"]) for m in asked[1:-1]])
    verbatim = llm is None  # with no model, the reply is the book's own text
    written: list[str] = []
    turn, shown, audio = ChatTurn([], [], iter(())), None, None
    with st.chat_message("assistant", avatar=avatar("assistant", choices)):
        try:
            turn = reply(prompt, choices, library, llm, history, settings)
            for note in turn.notes:
                st.caption(f"ℹ️ {for_page(note)}")
            voice = ReplyVoice(start_speech(choices, llm, settings, t) if choices["voice"] else None, st.empty())
            shown = st.empty()
            for piece in voice.spoken(turn):
                written.append(piece)
                show_text(shown, "".join(written), verbatim)
            audio = voice.finish()
        except Exception as error:  # the reader gets one line, never a traceback; friendly_message logs a bug
            written.append(("\n\n" if written else "") + f"⚠️ {for_page(friendly_message(error))}")
            show_text(shown if shown is not None else st.empty(), "".join(written), verbatim)
        sources = [{"citation": p.citation, "parts": highlight(p.text.strip(), prompt)} for p in turn.passages]
        sources_panel(sources, t)
    return {"role": "assistant", "content": "".join(written), "sources": sources, "audio": audio,
            "verbatim": verbatim}


def reply(
    prompt: str, choices: dict, library: Library, llm: BaseChatModel | None, history: list[BaseMessage],
    settings: Settings,
) -> ChatTurn:
    """The chain for the chosen mode."""
    if choices["persona"] is not None:
        return roleplay_reply(prompt, choices["persona"], library, llm, choices["scope"], history=history,
                              history_budget=settings.history_token_budget,
                              max_sentences=settings.roleplay_max_sentences)
    reader, unavailable = answer_reader(settings)
    if unavailable:
        st.caption(f"⚠️ {for_page(unavailable)}")
    return answer_question(prompt, library, llm, choices["scope"], k=choices["top_k"], history=history,
                           history_budget=settings.history_token_budget, reader=reader)


def avatar(role: str, choices: dict) -> str | None:
    """The character's picture (from a PNG card) beside its messages; Streamlit's default icon otherwise."""
    persona: Persona | None = choices["persona"]
    if role != "assistant" or persona is None or not persona.avatar:
        return None
    return persona.avatar


def sources_panel(passages: list[dict], t: dict) -> None:
    """Under an answer: each passage with its citation, the words of the question highlighted."""
    if not passages:
        return
    with st.expander(f"{t['sources']} ({len(passages)})"):
        for number, passage in enumerate(passages, 1):
            marked = "".join(f"<mark>{as_html(piece)}</mark>" if hit else as_html(piece)
                             for piece, hit in passage["parts"])
            st.markdown(f"<div><b>[{number}] {as_html(passage['citation'])}</b></div>", unsafe_allow_html=True)
            st.markdown(f"<div class='passage'>{marked}</div>", unsafe_allow_html=True)


def as_html(text: str) -> str:
    """Text as inert HTML: escaped, each line break a <br>, so Markdown never reads it (a blank line would end the
    HTML block and let the rest be parsed as Markdown)."""
    return html.escape(text).replace("\n", "<br>")


def show_text(slot: DeltaGenerator, text: str, verbatim: bool) -> None:
    """A reply in its slot. Book text (``verbatim``: a retrieval-only reply) is shown as written, never as Markdown or
    HTML; a model's reply is Markdown without images (a book or a prompt could make the reader's browser fetch any
    address)."""
    if verbatim:
        slot.markdown(f"<div class='verbatim'>{as_html(text)}</div>", unsafe_allow_html=True)
    else:
        slot.markdown(text.replace("![", "!\\["))


def export_button(messages: list[dict], choices: dict, t: dict) -> None:
    """Download the conversation on screen, each answer with its sources, as Markdown.

    The file is made with the page (a few kilobytes), drawn after the conversation so it holds every message shown.
    Made on click instead, its one-off file would be collected by the next script run of any page (a progress
    tick included) before the browser fetched it: the download failed with a 404.
    """
    persona: Persona | None = choices["persona"]
    speaker = {"user": t["reader"], "assistant": persona.name if persona else t["title"]}
    scope = f"《{choices['book']}》" if choices["book"] else t["all_books"]
    title = f"{t['title']} · {persona.name if persona else t['qa']} · {scope} · {datetime.now():%Y-%m-%d %H:%M}"
    turns = []
    for message in messages:
        sources = [(s["citation"], "".join(piece for piece, _ in s["parts"])) for s in message["sources"]]
        turns.append((speaker[message["role"]], message["content"], sources))
    read_to = f"{choices['scope'].describe()} / {choices['scope'].describe(english=True)}"
    st.download_button(t["export"], transcript_markdown(title, turns, read_to), mime="text/markdown", on_click="ignore",
                       file_name=f"novelchat-{datetime.now():%Y%m%d-%H%M}.md", icon=":material/download:",
                       width="stretch")
