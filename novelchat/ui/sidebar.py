"""The sidebar: book, mode, character, how far the reader has read, voice, the library and the chat model's status."""

from __future__ import annotations

import streamlit as st

from novelchat.config import Settings
from novelchat.index.store import BookEntry
from novelchat.models import backend_status, resolve_backend
from novelchat.retrieval.library import Library
from novelchat.retrieval.scope import Scope
from novelchat.roleplay.card_draft import CardDraftError, draft_card, save_card
from novelchat.roleplay.cards import Persona, parse_card
from novelchat.ui.cast_page import cast_personas, cast_so_far
from novelchat.ui.i18n import ADD_MODEL_HELP, LANGUAGES, for_page, keep_language
from novelchat.ui.indexing import library_panel
from novelchat.ui.messages import friendly_message
from novelchat.ui.state import cards, chat_model, clear_conversation, open_library, server_status
from novelchat.voice import missing_voice_tool

ALL_BOOKS = ""  # the book selector's first option


def sidebar(settings: Settings, library: Library, t: dict) -> dict:
    """The sidebar controls; returns the reader's choices, the reader's scope among them."""
    if "persona" in st.session_state:  # kept while its picker is not drawn, so switching back to role-play returns
        st.session_state["persona"] = st.session_state["persona"]  # to the same character (and conversation)
    with st.sidebar:
        st.radio(t["language"], LANGUAGES, key="lang", horizontal=True, on_change=keep_language,
                 format_func=lambda code: "中文" if code == "zh" else "English")
        books = library.books()
        titles = [b.title for b in books]
        # All books is the option "" (a None option would show as no choice: the placeholder)
        book = st.selectbox(t["book"], [ALL_BOOKS, *titles], key="book", placeholder=t["choose"],
                            format_func=lambda title: f"《{title}》" if title else t["all_books"]) or None
        mode = st.radio(t["mode"], ["qa", "roleplay"], key="mode", horizontal=True, format_func=lambda m: t[m])
        persona = None
        if mode == "roleplay":
            own_cards = cards(settings.characters_dir)
            if book:  # the book's characters without a card, as far as the reader has read
                cast = cast_so_far(library, book, scope_read([library.find_book(book)]).limit(book))
                own_cards = [*own_cards, *cast_personas(cast, book, own_cards)]
            personas = characters_for(own_cards, titles, book)
            own = bool(personas) and (book is None or personas[0].book == book)
            persona = st.selectbox(t["character"], personas, index=0 if own else None, key="persona",
                                   placeholder=t["choose"],
                                   format_func=lambda p: f"{p.name}（{p.book}）" if p.book else p.name)
            if book and not own:
                st.caption(t["no_character"].format(book=book))
            if titles:
                new_character_panel(settings, titles, book, t)
        if persona is not None:
            in_scope = [b for b in books if b.title == persona.book]
        else:
            in_scope = [b for b in books if b.title == book] or books
        scope = reading_scope(in_scope, t)
        voice_on = st.toggle(t["voice"], value=False, key="voice")
        if voice_on and (missing := missing_voice_tool()):
            st.caption(f":material/volume_off: {t['no_ffmpeg']} ({missing})")
        st.button(t["clear"], on_click=clear_conversation, width="stretch")
        export_slot = st.empty()  # filled once the page's conversation is complete
        status_slot = st.container()
        library_panel(settings, library, titles, t)
        with st.expander(t["settings"]):
            top_k = st.slider(t["top_k"], 1, 10, settings.top_k, key="top_k")
            manifest = library.manifest
            st.caption(f"{t['index']}: {settings.persist_dir} · {manifest.embedding or '-'} · "
                       f"{manifest.vector_store} · {sum(b.chunks for b in books)} chunks")
    return {"book": book, "mode": mode, "persona": persona, "scope": scope, "titles": titles, "voice": voice_on,
            "top_k": top_k, "export_slot": export_slot, "status_slot": status_slot}


def characters_for(personas: list[Persona], titles: list[str], book: str | None) -> list[Persona]:
    """The characters the reader can pick: those of the book chosen, then cards of no book; with no book chosen, those
    of every indexed book. The first is picked until the reader picks another, if it is the chosen book's."""
    shown = [p for p in personas if not p.book or p.book == book or book is None and p.book in titles]
    return sorted(shown, key=lambda p: book is not None and p.book != book)  # the book's own first


def reading_scope(books: list[BookEntry], t: dict) -> Scope:
    """The reader's scope over ``books``, each with its own chapter limit set by its own slider.

    Each book's limit lives in the session under the book's title, so it survives switching book, mode or
    character and a book's chapter count changing as it is indexed. A slider starts at chapter 1 at the lowest;
    at its end, the whole book."""
    read_to: dict[str, int] = st.session_state.setdefault("read_to", {})
    many = len([b for b in books if b.last_chapter > 1]) > 1
    with st.expander(t["read_to_each"]) if many else st.container():
        for book in books:
            if book.last_chapter > 1:
                value = min(max(read_to.get(book.title, book.last_chapter), 1), book.last_chapter)
                label = f"《{book.title}》" if many else t["spoiler"]
                read_to[book.title] = st.slider(label, 1, book.last_chapter, value, key=f"read_to::{book.title}")
    return scope_read(books)


def scope_read(books: list[BookEntry]) -> Scope:
    """The books with the limits the reader's sliders hold (kept in the session): a chapter at a book's end, or never
    set, is no limit."""
    read_to: dict[str, int] = st.session_state.get("read_to", {})
    return Scope.of({book.title: None if read_to.get(book.title, book.last_chapter) >= book.last_chapter
                     else read_to[book.title] for book in books})


def new_character_panel(settings: Settings, titles: list[str], book: str | None, t: dict) -> None:
    """Draft a card for any character of a book (its lines from the book; the rest by the chat model, if any)."""
    with st.expander(t["new_character"]):
        st.text_input(t["character_name"], key="new_character_name", placeholder="林晓")
        st.selectbox(t["book"], titles, index=titles.index(book) if book in titles else 0, key="new_character_book",
                     format_func=lambda title: f"《{title}》")
        st.button(t["create"], on_click=create_character, args=(settings, t), width="stretch")
        if note := st.session_state.pop("new_character_note", None):
            st.warning(for_page(note))
        if saved := st.session_state.pop("new_character_saved", None):
            st.success(t["card_saved"].format(path=saved), icon=":material/check_circle:")


def create_character(settings: Settings, t: dict) -> None:
    """Button callback: draft (from the chapters the reader has read), save and select the new character (runs
    before the page is drawn again); the page then says where the card was saved."""
    state, library = st.session_state, open_library(settings)
    try:
        scope = scope_read([library.find_book(state["new_character_book"])])
        with st.spinner(t["drafting"]):
            card = draft_card(state["new_character_name"], scope, library, chat_model(settings)[0])
        path = save_card(card, settings.characters_dir)
    except CardDraftError as error:  # no lines of this character in the chapters read
        state["new_character_note"] = str(error)
        return
    except OSError as error:  # the characters folder cannot be written
        state["new_character_note"] = f"角色卡无法保存 / the card cannot be saved: {error}"
        return
    except Exception as error:  # one line: the error's own (no such book, …), or a generic one for a bug (logged)
        state["new_character_note"] = friendly_message(error)
        return
    state["persona"], state["new_character_name"] = parse_card(card, path.name), ""
    if state.get("book"):  # the book chosen shows its own characters: the new one's
        state["book"] = state["persona"].book
    state["new_character_saved"] = str(path)


def status_panel(settings: Settings, t: dict) -> None:
    """One short line on the chat model; with none, how to add one folds out. A server's status is probed at most
    every 30 s; a local model's is read afresh (it costs nothing, and it changes when the first answer loads it)."""
    backend = resolve_backend(settings)
    if backend == "none":
        st.caption(f"○ {t['retrieval_only']}")
        with st.expander(t["add_model"]):
            st.markdown(ADD_MODEL_HELP)
        return
    if backend == "openai":
        ready, message = server_status(settings)
    else:
        status = backend_status(settings)
        ready, message = status.ready, status.message
    st.caption(f"{t['backend']}: {'●' if ready else '○'} {for_page(message)}")
