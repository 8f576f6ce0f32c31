"""How well speech was recognised: the character error rate (CER) of a transcript against what was said, after
folding what does not change the meaning (traditional → simplified characters, Arabic numerals → Chinese ones,
punctuation, spaces, case)."""

from __future__ import annotations

import re

from novelchat.text.hanzi import simplified

NOISE = re.compile(r"[\W_]+", re.UNICODE)  # punctuation and spaces, of any script
DIGITS = "零一二三四五六七八九"


def chinese_number(n: int) -> str:
    """``n`` (0-9999) as it is read in Chinese: 13 → 十三, 24 → 二十四, 105 → 一百零五."""
    if n < 10:
        return DIGITS[n]
    out, zero = "", False
    for unit, value in (("千", 1000), ("百", 100), ("十", 10), ("", 1)):
        digit, n = divmod(n, value)
        if digit:
            out += ("零" if zero and out else "") + DIGITS[digit] + unit
            zero = False
        else:
            zero = bool(out)
    return out[1:] if out.startswith("一十") else out


def fold(text: str) -> str:
    """``text`` as compared: simplified characters, lower case, no punctuation or spaces."""
    text = re.sub(r"\d{1,4}", lambda m: chinese_number(int(m.group())), simplified(text))
    return NOISE.sub("", text).lower()


def cer(said: str, heard: str) -> float:
    """Character edits (insertions, deletions, substitutions) from ``said`` to ``heard``, per character said."""
    ref, hyp = fold(said), fold(heard)
    row = list(range(len(hyp) + 1))
    for i, r in enumerate(ref, 1):
        previous, row[0] = row[0], i
        for j, h in enumerate(hyp, 1):
            previous, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, previous + (r != h))
    return row[-1] / max(len(ref), 1)
