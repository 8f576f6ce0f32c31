"""What lives longer than a page run: the server's shared resources (cached once) and the reader's conversations."""

from __future__ import annotations

import logging
from pathlib import Path

import streamlit as st
from langchain_core.language_models import BaseChatModel

from novelchat.answering.heuristic import HeuristicReader
from novelchat.answering.reader import Reader
from novelchat.answering.readers import READERS
from novelchat.config import Settings
from novelchat.errors import NovelChatError
from novelchat.index.background import BackgroundBuild
from novelchat.models import backend_status
from novelchat.retrieval.library import Library
from novelchat.roleplay.cards import Persona, load_personas
from novelchat.roleplay.chains import greeting
from novelchat.text.language import language_of
from novelchat.ui.model_loading import ModelLoader

log = logging.getLogger(__name__)


@st.cache_resource
def open_library(_settings: Settings) -> Library:
    return Library(_settings)


@st.cache_resource
def indexer(_settings: Settings) -> BackgroundBuild:
    """One background build per server; started once at launch to finish any pending vectors."""
    job = BackgroundBuild(_settings)
    job.start()
    return job


@st.cache_resource(show_spinner=False)
def answer_reader(_settings: Settings) -> tuple[Reader, str | None]:
    """The server's one answer reader (``Settings.answer_reader``), made at the first question; when it cannot be
    made, the heuristic and the one line saying why."""
    try:
        return READERS.create(_settings.answer_reader, _settings), None
    except NovelChatError as error:
        log.warning("answer reader %s unavailable, using the heuristic: %s", _settings.answer_reader, error)
        return HeuristicReader(), error.friendly


@st.cache_resource
def model_loader(_settings: Settings) -> ModelLoader:
    """The server's one chat-model loader; nothing loads until a page run starts it."""
    return ModelLoader(_settings)


def chat_model(settings: Settings) -> tuple[BaseChatModel | None, str | None]:
    """The configured chat model, or None with the reason (retrieval-only mode); (None, None) while it loads. The
    first call starts the load (a local model: in the background)."""
    loader = model_loader(settings)
    loader.start()
    return loader.result()


@st.cache_data(max_entries=64, show_spinner=False)
def book_language(persist_dir: str, version_dir: str) -> str:
    """The language of an indexed book version ("zh" or "en"), read from its text once."""
    try:
        return language_of((Path(persist_dir) / "books" / version_dir / "text.txt").read_text(encoding="utf-8"))
    except OSError as error:  # a version removed by a rebuild meanwhile: the page's default language
        log.info("cannot read %s to find its language (%s)", version_dir, error)
        return "zh"


def cards(folder: Path) -> list[Persona]:
    """The persona cards of the folder, read again only when a card is added, edited or removed."""
    try:
        stamp = tuple((p.name, p.stat().st_mtime_ns, p.stat().st_size)
                      for p in sorted([*folder.glob("*.json"), *folder.glob("*.png")]))
    except OSError as error:  # a card removed while listing: read the folder afresh this time
        log.info("character folder changed while listing it (%s); reading it afresh", error)
        return load_personas(folder)
    return cards_as_of(str(folder), stamp)


@st.cache_resource(max_entries=4, show_spinner=False)
def cards_as_of(folder: str, stamp: tuple) -> list[Persona]:
    """The cards of a folder as they were at ``stamp`` (the cache key: each file's name, mtime and size)."""
    return load_personas(Path(folder))


@st.cache_data(ttl=30)
def server_status(_settings: Settings) -> tuple[bool, str]:
    """A model server's status: probed over the network, so at most every 30 s."""
    status = backend_status(_settings)
    return status.ready, status.message


def count_page_run() -> None:
    """Number this page run in the session (the indexing progress tells its timer's ticks from page runs by it)."""
    st.session_state["page_runs"] = st.session_state.get("page_runs", 0) + 1


def conversation_key(choices: dict) -> tuple:
    """Which conversation the page shows: one per (book, mode, character), each kept while the reader switches."""
    persona: Persona | None = choices["persona"]
    return choices["book"], choices["mode"], persona.name if persona else None


def current_conversation(choices: dict, llm: BaseChatModel | None) -> list[dict]:
    """The messages of the conversation the choices select; a new one opens with the greeting."""
    conversations: dict[tuple, list[dict]] = st.session_state.setdefault("conversations", {})
    key = conversation_key(choices)
    fresh = key not in conversations or (choices["persona"] is None and len(conversations[key]) == 1)
    if fresh:  # the guide's hello is redrawn until the reader writes: it names the books and limits of now
        opening = greeting(choices["persona"], choices["scope"], llm, choices.get("lang", "zh"))
        conversations[key] = [{"role": "assistant", "content": opening, "sources": []}]
    st.session_state["shown_conversation"] = key
    return conversations[key]


def clear_conversation() -> None:
    """Button callback: forget the conversation on screen (the others are kept); it opens again with a greeting."""
    st.session_state.get("conversations", {}).pop(st.session_state.get("shown_conversation"), None)


def regenerate() -> None:
    """Button callback: drop the last reply and ask the same message again (a model gives another answer)."""
    messages = st.session_state["conversations"][st.session_state["shown_conversation"]]
    messages.pop()
    st.session_state["regenerate"] = messages.pop()["content"]
