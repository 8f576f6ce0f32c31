"""Bare quotes take turns: in a two-person exchange of paragraphs that are only a quote, after A then B comes A
again — or the one B's line calls by name. Never when it is not plain who."""

from __future__ import annotations

from collections.abc import Callable

Paragraph = tuple[int, list[int]]  # (line start, the quotes in that line)


def take_turns(text: str, spans: list[tuple[int, int]], line_starts: list[int], speakers: list[str | None],
               called: Callable[[int], str | None]) -> None:
    """Give each bare quote of ``text`` without a speaker the turn's speaker, in place in ``speakers`` ("": someone
    not in the cast). ``called(i)``: the character quote i opens by calling, if any."""
    turns: list[Paragraph] = []  # the paragraphs holding quotes
    for i, start in enumerate(line_starts):
        if turns and turns[-1][0] == start:
            turns[-1][1].append(i)
        else:
            turns.append((start, [i]))
    for t, (start, members) in enumerate(turns):
        line_end = text.find("\n", start)
        line = text[start: line_end if line_end >= 0 else len(text)].strip()
        bare = line == text[slice(*spans[members[0]])]
        if len(members) != 1 or speakers[members[0]] is not None or not bare:
            continue
        b = _turn_speaker(text, turns, speakers, t - 1)
        by_name = called(turns[t - 1][1][-1]) if b is not None else None
        a = _turn_speaker(text, turns, speakers, t - 2) if b is not None and _adjacent(text, turns, t - 2) else None
        if by_name and by_name != b:
            speakers[members[0]] = by_name
        elif a and a != b:  # (b may be "", someone not in the cast)
            speakers[members[0]] = a


def _turn_speaker(text: str, turns: list[Paragraph], speakers: list[str | None], t: int) -> str | None:
    """The one speaker of paragraph t, if it directly precedes paragraph t + 1 (no narration between)."""
    if not _adjacent(text, turns, t):
        return None
    found = {speakers[i] for i in turns[t][1]} - {None}
    return found.pop() if len(found) == 1 else None


def _adjacent(text: str, turns: list[Paragraph], t: int) -> bool:
    """Whether paragraph t is directly followed by paragraph t + 1 (blank lines aside)."""
    if t < 0 or t + 1 >= len(turns):
        return False
    line_end = text.find("\n", turns[t][0])
    return line_end >= 0 and not text[line_end: turns[t + 1][0]].strip()
