"""Traditional and simplified Chinese read as one: what matching folds text to before comparing words.

A book in 繁體 (萬聖公主, 燈鋪) is searched, highlighted and answered from with the questions readers type in 简体
(万圣公主, 灯铺), and the other way round. OpenCC's character and phrase tables do the folding; the result always has
the text's length, so offsets found in the folded text slice the original.
"""

from __future__ import annotations

import re
from functools import cache

import opencc

_HAN = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")


@cache
def _converter() -> opencc.OpenCC:
    """OpenCC's traditional → simplified converter, made on first use."""
    return opencc.OpenCC("t2s")


def simplified(text: str) -> str:
    """``text`` in simplified characters, character for character (same length; non-Chinese text unchanged)."""
    if text.isascii():
        return text
    folded = _converter().convert(text)
    if len(folded) == len(text):
        return folded
    one = _converter().convert  # a phrase changed length: fold each character on its own
    return "".join(ch if len(c := one(ch)) != 1 else c for ch in text)


def is_chinese(text: str) -> bool:
    """Whether ``text`` holds a Chinese character (so a reply to it is given in Chinese)."""
    return bool(_HAN.search(text))
