"""A persona's voice for one reply: the engine for the language it speaks in, translating first if its card asks."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from langchain_core.language_models import BaseChatModel

from novelchat.config import Settings
from novelchat.voice.choice import pick_engine
from novelchat.voice.stream import SpeechStream
from novelchat.voice.translate import translation_chain


def open_speech(
    settings: Settings | None = None,
    persona: Mapping[str, Any] | None = None,
    chat_model: BaseChatModel | None = None,
    reply_lang: str = "zh",
) -> SpeechStream | None:
    """A SpeechStream for a reply in ``reply_lang`` spoken as ``persona`` (None when voice is off).

    ``persona`` is a card's ``data.extensions.novelchat`` dict ``{"voice": {...}, "translate": {...} | None}``
    (a whole Character Card V2 dict works too). With translate rules and a chat model, each sentence is
    translated before it is voiced (the shown text stays the original); with no chat model the reply is
    voiced in its own language.
    """
    ext = dict(persona or {})
    if "data" in ext:  # a whole card
        ext = ext["data"].get("extensions", {}).get("novelchat") or {}
    rules = ext.get("translate")
    translate = translation_chain(chat_model, rules).invoke if rules and chat_model is not None else None
    lang = rules.get("target_lang", "ja") if translate else reply_lang
    choice = pick_engine(lang, settings, ext.get("voice"))
    if choice is None:
        return None
    if rules and chat_model is None:
        why = f"no chat model to translate into {rules.get('target_lang', 'ja')}, so voicing the {lang} reply"
        choice = replace(choice, reason=f"{choice.reason}; {why}")
    return SpeechStream(choice, translate)
