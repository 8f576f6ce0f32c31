"""A conversation as Markdown for the reader to keep (the export button's file): how far the reader had read, then
each turn, a passage quoted in full the first time it is cited and only named when cited again."""

from __future__ import annotations

from collections.abc import Sequence


def transcript_markdown(title: str, turns: Sequence[tuple[str, str, Sequence[tuple[str, str]]]],
                        read_to: str = "") -> str:
    """The conversation as Markdown: (speaker, text, [(citation, passage)]) per turn, the passages quoted under it,
    each once; ``read_to``: where the reader had read to (the replies knew nothing past it)."""
    lines = [f"# {title}", ""]
    if read_to:
        lines += [f"*读到 / read to: {read_to}*", ""]
    quoted: set[tuple[str, str]] = set()
    for speaker, text, sources in turns:
        lines += [f"**{speaker}**：", "", text.strip(), ""]
        for number, (citation, passage) in enumerate(sources, 1):
            if (citation, passage.strip()) in quoted:
                lines += [f"> **[{number}] {citation}**（见上 / quoted above）", ""]
                continue
            quoted.add((citation, passage.strip()))
            body = [f"> {line.strip()}" for line in passage.splitlines() if line.strip()]
            lines += [f"> **[{number}] {citation}**", ">", *body, ""]
    return "\n".join(lines)
