"""A book's cast, computed on first use and kept beside the book's index (``books/<version>/cast.json``), and the
names a typed character name stands for: a card's own (name and aliases) first, else the cast's."""

from __future__ import annotations

import dataclasses
import json
import logging
import os
from collections.abc import Sequence

from novelchat.retrieval.library import Library
from novelchat.roleplay.cards import Persona
from novelchat.roleplay.cast import CAST_VERSION, Cast, cast_of

log = logging.getLogger(__name__)
CAST_FILE = "cast.json"


def book_cast(library: Library, book: str) -> Cast:
    """The cast of an indexed book (whole: :meth:`Cast.within` cuts it to the reader's chapter), read from the index
    folder, or computed and kept there (a folder that cannot be written is logged, and the cast still returned)."""
    entry = library.find_book(book)
    path = library.persist_dir / "books" / entry.version_dir / CAST_FILE
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
        if raw.get("version") == CAST_VERSION:
            return Cast.from_json(raw)
    except FileNotFoundError:
        pass
    except (OSError, ValueError, KeyError, TypeError) as error:
        log.warning("the cast of %s in %s cannot be read (%s); it is found again", book, path, error)
    loaded = library.loaded(entry)
    starts: dict[int, int] = {}
    for chapter, start in zip(loaded.chapter.tolist(), loaded.start.tolist(), strict=True):
        starts.setdefault(chapter, start)
    cast = cast_of(loaded.text, sorted(((start, chapter) for chapter, start in starts.items())))
    try:
        partial = path.with_suffix(".partial")
        partial.write_text(json.dumps(cast.to_json(), ensure_ascii=False), encoding="utf-8")
        os.replace(partial, path)
    except OSError as error:
        log.warning("the cast of %s cannot be kept in %s (%s); it is found again next time", book, path, error)
    return cast


def with_cast_names(persona: Persona, cast: Cast | None) -> Persona:
    """The card with every name the book uses for its character, when the card itself lists no aliases (a card's own
    aliases win); the card's name stays first, so lines are given to it. The card itself is not changed."""
    if persona.aliases or cast is None:
        return persona
    found = cast.find(persona.name)
    if found is None:
        return persona
    return dataclasses.replace(persona, aliases=[name for name in found.names if name != persona.name])


def other_names(cast: Cast | None, persona: Persona, cards: Sequence[Sequence[str]] = ()) -> list[list[str]]:
    """The rest of the cast, for attribution to tell them apart: the cards' names, then the book's other characters
    (none sharing a name with the character or a card)."""
    taken = {*persona.names, *(name for names in cards for name in names)}
    others = [list(names) for names in cards]
    for character in cast.characters if cast else ():
        names = [name for name in character.names if name not in taken]
        if names and not taken.intersection(character.names):
            others.append(names)
    return others
