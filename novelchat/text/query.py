"""A reader's question, parsed once: its text folded to simplified, where it asks, and its keywords.

Question words (什么, 哪天, 几遍, what…) say what is asked, not where the answer is. They are blanked out (offsets
unchanged) before the question is tokenised, so neither they nor the character pairs across them (叫什, 么？) match
passages. 哪 and 几 ask before any word (哪一国, 几折, 哪五个字), 哪吒 and 几乎 aside; 哪 takes a measure word along
(哪一天, 哪间), 几 leaves it (几遍 stays: the answer says 五遍); 什么名字, 什么外号… are all question.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from novelchat.text.hanzi import simplified
from novelchat.text.tokens import tokenize

MEASURES = "个位天年月日间家条棵只回遍次种句根本座匹口处些样时岁章层道件张首门艘片块把"
NUMERALS = "0-9零〇一二三四五六七八九十百千万两半廿"  # the digits a count is written with, for a character class
NAME_WORDS = "名字|名号|名称|别名|异名|外号|绰号|诨名|法名|称号|名"  # what a question calls a name
QUESTION_WORDS = re.compile(
    rf"为什么|(?:什么|甚么)(?:{NAME_WORDS})?|怎么样|怎么|怎样|如何|多少|多(?=[大远长久高深重宽粗])|为何|何时|何处"
    rf"|何人|何物|哪里|哪儿|哪一?[{MEASURES}]|哪(?!吒)[{NUMERALS}]*|几(?!乎)|谁|啥|吗|呢"
    r"|\b(?:what|who|whom|whose|which|where|when|why|how)\b",
    re.IGNORECASE,
)


def blank_question_words(text: str) -> str:
    """``text`` with its question words replaced by spaces (same length, so offsets still hold)."""
    return QUESTION_WORDS.sub(lambda match: " " * len(match.group()), text)


@dataclass(frozen=True)
class Query:
    """A question as every stage reads it: ``folded`` (simplified, same length as ``text``), ``blanked`` (folded,
    question words as spaces), ``asked`` (the question words' spans) and ``keywords`` (what is searched for)."""

    text: str
    folded: str
    blanked: str
    asked: tuple[tuple[int, int], ...]
    keywords: tuple[str, ...]

    @classmethod
    def parse(cls, question: str | Query) -> Query:
        """The question parsed (a Query is returned as it is)."""
        if isinstance(question, Query):
            return question
        folded = simplified(question)
        blanked = blank_question_words(folded)
        asked = tuple(match.span() for match in QUESTION_WORDS.finditer(folded))
        return cls(question, folded, blanked, asked, tuple(tokenize(blanked)))


def query_tokens(question: str | Query) -> list[str]:
    """The keywords of a question (何伯的船叫什么 → 何伯, 船, 叫…, no 叫什)."""
    return list(Query.parse(question).keywords)
