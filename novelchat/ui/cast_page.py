"""The cast of the book read so far: its characters, every name they go by, how much they speak, who talks to whom —
never past the reader's chapter — and the book's characters offered in the character picker without any card."""

from __future__ import annotations

import logging

import streamlit as st

from novelchat.errors import NovelChatError
from novelchat.retrieval.library import Library
from novelchat.retrieval.scope import Scope
from novelchat.roleplay.book_cast import book_cast
from novelchat.roleplay.cards import Persona
from novelchat.roleplay.cast import Cast

log = logging.getLogger(__name__)
PICKER_LINES = 5  # a character with fewer lines (so far) is not offered in the picker
PICKER_MAX = 15  # the most characters from the cast the picker offers
GRAPH_PAIRS = 20  # the most pairs the talk graph draws


def cast_so_far(library: Library, book: str, limit: int | None) -> Cast | None:
    """The book's cast as far as the reader has read; None (logged) when it cannot be found."""
    try:
        return book_cast(library, book).within(limit)
    except NovelChatError as error:
        log.warning("no cast for %s: %s", book, error.friendly)
        return None


def cast_personas(cast: Cast | None, book: str, cards: list[Persona]) -> list[Persona]:
    """The book's characters that have no card, as bare cards carrying every name they go by (most lines first)."""
    carded = {name for card in cards for name in card.names}
    return [Persona(name=c.name, book=book, aliases=list(c.names[1:])) for c in (cast.characters if cast else ())
            if c.count() >= PICKER_LINES and carded.isdisjoint(c.names)][:PICKER_MAX]


def talk_graph(cast: Cast) -> str:
    """Who talks to whom as a Graphviz graph: an edge per pair of characters, as thick as their exchanges."""
    pairs = sorted(((sum(counts.values()), a, b) for (a, b), counts in cast.talks.items()), reverse=True)[:GRAPH_PAIRS]
    most = max((n for n, _, _ in pairs), default=1)
    edges = [f'"{a}" -- "{b}" [label="{n}", penwidth={1 + 4 * n / most:.1f}]' for n, a, b in pairs]
    return "graph {\nnode [shape=box, style=rounded]\n" + "\n".join(edges) + "\n}"


def cast_panel(library: Library, book: str | None, scope: Scope, english: bool) -> None:
    """The cast page of the chosen book, folded: a table of characters and a graph of who talks to whom."""
    if not book or book not in scope.titles:
        return
    with st.expander("Cast: who speaks, and to whom" if english else "人物：谁在说话，和谁说"):
        cast = cast_so_far(library, book, scope.limit(book))
        if cast is None or not cast.characters:
            st.caption("No one speaks yet in what you have read." if english else "读到这里，还没有人说话。")
            return
        st.caption(f"{'read to' if english else '读到'}: {scope.only(book).describe(english)}")
        st.dataframe([{"character" if english else "人物": c.name,
                       "also called" if english else "又称": "、".join(c.names[1:]),
                       "lines" if english else "台词": c.count(),
                       "chapters" if english else "章": f"{min(c.per_chapter())}–{max(c.per_chapter())}"}
                      for c in cast.characters], hide_index=True, width="stretch")
        if cast.talks:
            st.graphviz_chart(talk_graph(cast))
        if cast.uncertain:
            label = "Maybe the same person" if english else "可能是同一人（未合并）"
            st.caption(f"{label}: " + "; ".join(f"{a} ↔ {b}" for a, b in cast.uncertain))
