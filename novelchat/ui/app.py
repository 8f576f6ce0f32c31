"""书聊 NovelChat — the Streamlit page: its layout, wired from the sidebar, the conversation and the state.

Nothing runs at import: the top-level ``app.py`` (what ``streamlit run`` executes) calls :func:`main`."""

from __future__ import annotations

import streamlit as st

from novelchat.config import get_settings
from novelchat.ui.audio_input import spoken_question
from novelchat.ui.cast_page import cast_panel
from novelchat.ui.conversation import conversation, export_button
from novelchat.ui.i18n import choose_language, for_page, texts
from novelchat.ui.model_loading import POLL_S, loading_notice
from novelchat.ui.sidebar import sidebar, status_panel
from novelchat.ui.state import (
    chat_model,
    count_page_run,
    current_conversation,
    model_loader,
    open_library,
    regenerate,
)


def main() -> None:
    """One page run: the sidebar, the conversation (a new question answered as it streams), then the controls that
    hold what the page now shows (the export, the chat model's status)."""
    settings = get_settings()
    count_page_run()
    st.set_page_config(page_title="书聊 NovelChat", page_icon="📖", layout="wide")
    st.markdown("<style>.passage{font-size:0.9em;color:#444}</style>", unsafe_allow_html=True)
    library = open_library(settings)
    lang = choose_language(library.books(), settings.persist_dir)
    t = texts()
    choices = {**sidebar(settings, library, t), "lang": lang}
    st.title(t["title"])
    cast_panel(library, choices["book"], choices["scope"], lang == "en")
    llm, llm_error = chat_model(settings)
    if llm_error:
        st.warning(for_page(llm_error))
    loader = model_loader(settings)
    st.fragment(loading_notice, run_every=POLL_S if loader.loading else None)(loader, st.session_state["page_runs"], t)
    if not choices["titles"]:
        st.info(t["no_books"])
    messages = current_conversation(choices, llm)
    persona = choices["persona"]
    prompt = st.chat_input(t["say"].format(name=persona.name) if persona else t["ask"], key="chat_input")
    prompt = prompt or spoken_question(choices, settings, t) or st.session_state.pop("regenerate", None)
    if prompt:  # kept at once: if this run is cut short before the reply is written, the next run writes it
        messages.append({"role": "user", "content": prompt, "sources": []})
    conversation(messages, choices, library, llm, settings, t)
    if llm is not None and len(messages) >= 3 and messages[-1]["role"] == "assistant":
        st.button(t["regenerate"], on_click=regenerate, icon=":material/refresh:", type="tertiary")
    with choices["export_slot"]:  # drawn last, so both hold what the page now shows
        export_button(messages, choices, t)
    with choices["status_slot"]:
        status_panel(settings, t)
