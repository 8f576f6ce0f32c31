"""Speaking a reply while it is written: the voice for the reply, its first sentence autoplayed, the whole reply as
one mp3 under it. A voice that fails says so in one line and the reply goes on being written, unspoken."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import TypeVar

import streamlit as st
from langchain_core.language_models import BaseChatModel
from streamlit.delta_generator import DeltaGenerator

from novelchat.answering.turn import ChatTurn
from novelchat.config import Settings
from novelchat.roleplay.cards import Persona
from novelchat.ui.i18n import for_page
from novelchat.ui.messages import friendly_message
from novelchat.voice import SpeechStream, audio_mime, open_speech, warm

T = TypeVar("T")
MUTED = ":material/volume_off:"


@st.cache_resource
def warm_voice() -> None:
    """Load the offline Japanese voice in the background once per server, if voice is ever used."""
    warm()


def start_speech(choices: dict, llm: BaseChatModel | None, settings: Settings, t: dict) -> SpeechStream | None:
    """A speech stream for this reply (the persona's voice, translated if the card asks), and which voice it is."""
    warm_voice()
    persona: Persona | None = choices["persona"]
    card = {"voice": persona.voice, "translate": persona.translate} if persona else None
    lang = (persona.voice.get("lang") if persona and not persona.translate else None) or "zh"
    try:
        speech = open_speech(settings, card, llm, reply_lang=lang)
    except Exception as error:  # this reply goes unspoken, in one line; friendly_message logs what is a bug
        st.caption(f"{MUTED} {for_page(friendly_message(error))}")
        return None
    if speech is not None:
        choice = speech.choice
        st.caption(f"{t['voice_in_use']}: {choice.engine.label} · {choice.voice}")
        if choice.engine.note:  # a licence the reader must know of
            st.caption(choice.engine.note)
        if choice.warning:
            st.warning(f"{t['voice_poor']}: {choice.warning}")
    return speech


class ReplyVoice:
    """The voice of one reply, or none, playing in ``player`` (a slot: each element replaces the last).

    Each call on the speech stream is guarded: the first failure (a sentence no engine could voice, a translation
    that failed, a bug) silences the rest of the reply and shows one line in the player's place; the reply's text is
    never cut."""

    def __init__(self, speech: SpeechStream | None, player: DeltaGenerator) -> None:
        self.speech, self.player, self.played = speech, player, False

    def spoken(self, turn: ChatTurn) -> Iterator[str]:
        """Pass the reply through while feeding the voice what it reads (``turn.spoken`` when set: a retrieval-only
        reply's answer sentence, never its citations); autoplay the first sentence once it is ready."""
        if turn.spoken is not None:
            self._voice(lambda speech: speech.feed(turn.spoken))
        for piece in turn.stream:
            yield piece
            if turn.spoken is None:
                self._voice(lambda speech, piece=piece: speech.feed(piece))
            ready = self._voice(lambda speech: speech.ready())  # also how a failed sentence shows, at once
            if ready and not self.played:
                self.player.audio(ready[0].clip.audio, format=f"audio/{ready[0].clip.fmt}", autoplay=True)
                self.played = True

    def finish(self) -> bytes | None:
        """The whole reply as one file under the message (mp3; WAV without ffmpeg), its sentences voiced while it
        was written."""
        audio = self._voice(lambda speech: speech.audio(None))
        if audio is not None:
            self.player.audio(audio, format=audio_mime(audio), autoplay=not self.played)
        return audio

    def _voice(self, act: Callable[[SpeechStream], T]) -> T | None:
        """``act`` on the speech stream, if the reply still has a voice; a failure silences it, in one line."""
        if self.speech is None:
            return None
        try:
            return act(self.speech)
        except Exception as error:  # the voice stops, the text goes on; friendly_message logs what is a bug
            self.speech = None
            self.player.caption(f"{MUTED} {for_page(friendly_message(error))}")
            return None
