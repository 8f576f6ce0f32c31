"""The microphone: a question said aloud (QA or role-play) is transcribed offline, then asked as typed text is.

The recording is read from memory (never written to disk); each recording is transcribed once, however many times
the page runs after it. Bad audio or no recogniser is one line under the microphone, never a traceback."""

from __future__ import annotations

import streamlit as st

from novelchat.asr import asr_backend, initial_prompt, transcribe
from novelchat.asr.transcribers import whisper_missing
from novelchat.config import Settings
from novelchat.roleplay.cards import Persona
from novelchat.ui.i18n import for_page
from novelchat.ui.messages import friendly_message
from novelchat.ui.state import cards

HEARD = "spoken_question_heard"  # session key: the id of the last recording transcribed


def spoken_question(choices: dict, settings: Settings, t: dict) -> str | None:
    """The microphone (when a recogniser is set up); the text of a new recording, once, or None."""
    if asr_backend(settings, whisper_missing() is None) is None:
        return None
    recording = st.audio_input(t["ask_aloud"], key="spoken_question")
    if recording is None or st.session_state.get(HEARD) == recording.file_id:
        return None
    st.session_state[HEARD] = recording.file_id
    try:
        with st.spinner(t["transcribing"]):
            return transcribe(recording.getvalue(), settings, initial_prompt(names_in_view(choices, settings)))
    except Exception as error:  # one line; friendly_message logs what is a bug
        st.warning(for_page(friendly_message(error)))
        return None


def names_in_view(choices: dict, settings: Settings) -> list[str]:
    """What Whisper should know how to write: the character spoken to, the books in view and their characters."""
    persona: Persona | None = choices["persona"]
    books = [persona.book] if persona and persona.book else [choices["book"]] if choices["book"] else choices["titles"]
    people = [p for p in cards(settings.characters_dir) if p.book in books]
    return [*(persona.names if persona else []), *books, *(name for p in people for name in p.names)]
