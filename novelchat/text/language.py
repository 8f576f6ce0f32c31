"""A text's language as the page needs it, Chinese or English: from the share of CJK characters among its letters.

Hard-wrapped English (Project Gutenberg's lines of about 70 characters, paragraphs apart by blank lines) is read as
one line per paragraph by :func:`unwrapped`, so a quote that runs over a line end is still one quote."""

from __future__ import annotations

import re

_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u9fff\uf900-\ufaff]")  # kana and Han: the page's Chinese side
_LETTER = re.compile(r"[^\W\d_]")
CHINESE_SHARE = 0.2  # a text whose letters are at least this share CJK reads as Chinese (a Latin header aside)
SAMPLE = 20_000  # characters read from the middle of a long text (its front matter may be in another language)
WRAP_WIDTH = 100  # a Latin text none of whose lines is longer than this is hard-wrapped
_WRAP = re.compile(r"(?<=[^\n])\n(?=[^\n])")  # a line end inside a paragraph


def cjk_share(text: str) -> float:
    """The share of CJK characters among the letters of ``text`` (0 when it has none)."""
    letters = len(_LETTER.findall(text))
    return len(_CJK.findall(text)) / letters if letters else 0.0


def language_of(text: str) -> str:
    """``"zh"`` or ``"en"``: the language of a book or a passage, read from a sample of its middle."""
    middle = max(0, len(text) // 2 - SAMPLE // 2)
    return "zh" if cjk_share(text[middle: middle + SAMPLE]) >= CHINESE_SHARE else "en"


def unwrapped(text: str) -> str:
    """``text`` with each line end inside a paragraph made a space, when it is hard-wrapped Latin text (no line
    longer than ``WRAP_WIDTH``, two lines or more running on); otherwise unchanged. The length never changes, so an
    offset in one is an offset in the other."""
    if language_of(text) != "en" or max(map(len, text.split("\n"))) > WRAP_WIDTH:
        return text
    return _WRAP.sub(" ", text) if len(_WRAP.findall(text)) >= 2 else text
