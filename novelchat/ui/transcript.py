"""A conversation as Markdown for the reader to keep (the export button's file)."""

from __future__ import annotations

from collections.abc import Sequence


def transcript_markdown(title: str, turns: Sequence[tuple[str, str, Sequence[tuple[str, str]]]]) -> str:
    """The conversation as Markdown: (speaker, text, [(citation, passage)]) per turn, the passages quoted under it."""
    lines = [f"# {title}", ""]
    for speaker, text, sources in turns:
        lines += [f"**{speaker}**：", "", text.strip(), ""]
        for number, (citation, passage) in enumerate(sources, 1):
            quoted = [f"> {line.strip()}" for line in passage.splitlines() if line.strip()]
            lines += [f"> **[{number}] {citation}**", ">", *quoted, ""]
    return "\n".join(lines)
