"""The cast of a book, found from its text alone: who speaks, under which names, how much in each chapter, and who
talks to whom — so that a name typed by a reader (孙悟空, 钱满仓, Anne Elliot) finds every line the book gives that
character, under every name it uses (行者, 大圣, 钱掌柜, said Anne).

    cast = cast_of(text, chapter_starts)      # names: name_finder; who speaks: speakers; one character: grouping
    cast.find("孙悟空").names                  # ['孙悟空', '行者', '八戒'?…] — never: merges with doubt are
    cast.uncertain                             # listed here instead ((name, the character it may be), …)
    cast.within(12)                            # as a reader at chapter 12 may see it

Attribution runs once with every name its own speaker; the lines of a name are those tags give it.
"""

from __future__ import annotations

import bisect
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

from novelchat.roleplay.grouping import group
from novelchat.roleplay.name_finder import MIN_MENTIONS, chinese_names, english_names, namings
from novelchat.roleplay.name_forms import form
from novelchat.roleplay.speakers import attribute
from novelchat.text.hanzi import simplified

CAST_VERSION = 1  # bump when the rules change: a cached cast of an older version is found again
SCENE_CHARS = 400  # two lines further apart than this are not one exchange
Counts = dict[int, int]  # chapter → lines (0: the name is first used there, without a line)


@dataclass(frozen=True)
class Character:
    """One character: the name to show first, every name the book uses for them, and the lines under each name."""

    name: str
    names: tuple[str, ...]
    lines: dict[str, Counts] = field(default_factory=dict)

    def count(self, name: str | None = None) -> int:
        """Lines under ``name`` (under every name when None)."""
        chosen = [name] if name else self.names
        return sum(sum(self.lines.get(n, {}).values()) for n in chosen)

    def per_chapter(self) -> Counts:
        total: Counter = Counter()
        for counts in self.lines.values():
            total.update(counts)
        return dict(sorted(total.items()))


@dataclass(frozen=True)
class Cast:
    """A book's characters (most lines first), merges left uncertain, and exchanges between two characters."""

    characters: tuple[Character, ...]
    uncertain: tuple[tuple[str, str], ...] = ()
    talks: dict[tuple[str, str], Counts] = field(default_factory=dict)

    def find(self, name: str) -> Character | None:
        """The character a typed name is: one of their names, or (English) the one whose name it holds or extends."""
        wanted = simplified(name.strip())
        for character in self.characters:
            if wanted in character.names:
                return character
        if wanted.isascii():
            words = set(wanted.split())
            fits = [c for c in self.characters if any(set(n.split()) <= words or words <= set(n.split())
                                                      for n in c.names if form(n).family or len(words) == 1)]
            return fits[0] if len(fits) == 1 else None
        return None

    def within(self, limit: int | None) -> Cast:
        """The cast as a reader who has read to chapter ``limit`` sees it: names, lines and exchanges up to there."""
        if limit is None:
            return self
        kept = []
        for character in self.characters:
            lines = {n: {c: k for c, k in counts.items() if c <= limit} for n, counts in character.lines.items()}
            lines = {n: counts for n, counts in lines.items() if counts}
            if any(lines.values()) and sum(map(sum, (c.values() for c in lines.values()))):
                names = tuple(n for n in character.names if n in lines)
                shown = character.name if character.name in lines else names[0]
                kept.append(Character(shown, (shown, *(n for n in names if n != shown)), lines))
        visible = {n for c in kept for n in c.names}
        renamed = {c.name: k.name for c in self.characters for k in kept if k.names[0] in c.names or k.name in c.names}
        talks = {}
        for (a, b), counts in self.talks.items():
            within = {c: k for c, k in counts.items() if c <= limit}
            if within and a in renamed and b in renamed:
                talks[(renamed[a], renamed[b])] = within
        doubts = tuple(p for p in self.uncertain if p[0] in visible and p[1] in visible)
        return Cast(tuple(kept), doubts, talks)

    def to_json(self) -> dict:
        return {"version": CAST_VERSION, "uncertain": [list(p) for p in self.uncertain],
                "characters": [{"name": c.name, "names": list(c.names), "lines": c.lines} for c in self.characters],
                "talks": [[a, b, counts] for (a, b), counts in self.talks.items()]}

    @classmethod
    def from_json(cls, raw: dict) -> Cast:
        def counts(raw_counts: dict) -> Counts:
            return {int(c): int(k) for c, k in raw_counts.items()}

        characters = tuple(Character(c["name"], tuple(c["names"]), {n: counts(v) for n, v in c["lines"].items()})
                           for c in raw["characters"])
        return cls(characters, tuple(tuple(p) for p in raw["uncertain"]),
                   {(a, b): counts(v) for a, b, v in raw["talks"]})


def cast_of(text: str, chapter_starts: Sequence[tuple[int, int]] = ((0, 1),)) -> Cast:
    """The cast of ``text``; ``chapter_starts``: (offset, chapter number) of each chapter, in order."""
    folded = simplified(text)
    mentions = chinese_names(folded) + english_names(folded)
    named = namings(folded)
    quotes = attribute(folded, [[name] for name in mentions])
    offsets = [start for start, _ in chapter_starts]

    def chapter(at: int) -> int:
        return chapter_starts[max(0, bisect.bisect_right(offsets, at) - 1)][1]

    lines: dict[str, Counter] = {}
    pairs: dict[tuple[str, str], Counter] = {}
    previous = None
    for quote in quotes:
        if quote.speaker is None:
            continue
        lines.setdefault(quote.speaker, Counter())[chapter(quote.start)] += 1
        if previous is not None and previous.speaker != quote.speaker and quote.start - previous.end <= SCENE_CHARS \
                and chapter(previous.start) == chapter(quote.start):
            pair = tuple(sorted((previous.speaker, quote.speaker)))
            pairs.setdefault(pair, Counter())[chapter(quote.start)] += 1
        previous = quote
    keep = set(lines) | {name for _, name in named} | {
        n for n, k in mentions.items() if (form(n).full or form(n).role) and k >= MIN_MENTIONS}
    for name in keep - set(lines):  # a name with no line of its own: where the book first uses it
        at = folded.find(name)
        lines[name] = Counter({chapter(at): 0})
    groups, uncertain = group(lines, named, {pair: sum(counts.values()) for pair, counts in pairs.items()})
    characters = [_character(names, lines, mentions) for names in groups]
    characters = sorted((c for c in characters if c.count()), key=lambda c: -c.count())
    owner = {n: c.name for c in characters for n in c.names}
    talks: dict[tuple[str, str], Counter] = {}
    for (a, b), counts in pairs.items():
        if a in owner and b in owner and owner[a] != owner[b]:
            talks.setdefault(tuple(sorted((owner[a], owner[b]))), Counter()).update(counts)
    doubts = tuple((a, owner[b]) for a, b in uncertain if a in owner and b in owner and owner[a] != owner[b])
    return Cast(tuple(characters), tuple(dict.fromkeys(doubts)), {k: dict(v) for k, v in talks.items()})


def _character(names: list[str], lines: dict[str, Counter], mentions: Counter) -> Character:
    """A character from its names: shown by its full name (the most used), else by the name with the most lines."""
    spoken = {n: sum(lines[n].values()) for n in names}
    fulls = [n for n in names if form(n).full and (not n.isascii() or " " in n)]
    shown = max(fulls, key=lambda n: mentions[n]) if fulls else max(names, key=lambda n: spoken[n])
    ordered = (shown, *sorted((n for n in names if n != shown), key=lambda n: -spoken[n]))
    return Character(shown, ordered, {n: dict(lines[n]) for n in ordered})
