"""Whisper's initial prompt for a question about a book: the names it would otherwise mishear (林晓 → 林小), and a
simplified-Chinese sentence so a Chinese question is written in simplified characters."""

from __future__ import annotations

import re
from collections.abc import Iterable

MAX_CHARS = 200  # Whisper reads at most 224 prompt tokens


def initial_prompt(names: Iterable[str]) -> str:
    """A prompt naming ``names`` (book titles, characters, aliases; duplicates and blanks dropped, the first kept
    within the budget), in Chinese when any is Chinese."""
    unique = list(dict.fromkeys(n.strip() for n in names if n and n.strip()))
    chinese = any(re.search(r"[\u4e00-\u9fff]", n) for n in unique) or not unique
    lead, sep, end = ("以下是关于小说的普通话提问。", "、", "。") if chinese else ("A question about a novel. ", ", ",
                                                                              ".")
    kept: list[str] = []
    for name in unique:
        if len(lead) + len(sep.join([*kept, name])) + len(end) > MAX_CHARS:
            break
        kept.append(name)
    return f"{lead}{sep.join(kept)}{end}" if kept else lead.strip()
