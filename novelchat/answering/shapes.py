"""What the answer to a question looks like, when the question says: a count and its unit, a date, a span of time,
a name (``ANSWER_SHAPES``, a table)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from novelchat.text.query import NUMERALS, Query

_N = NUMERALS
# How a book gives a name: 小字/法名/绰号…, a short quoted name (not a quoted sentence: “师父。”), a 《title》, or a
# name after a colon (道：“锅巴，…).
_NAME_FORMS = (r"[小表]字|小名|乳名|法名|道号|绰号|诨名|[“「‘\"][^”」’\"，。！？．]{1,8}[”」’\"]|《[^》]{1,12}》"
               r"|[：:][“「][^，。！？”」]{2,3}[，！、]")


@dataclass(frozen=True)
class ShapeRule:
    """A kind of question (``asks``, a pattern of the question) and what its answer looks like (``looks``; None: a
    number before the measure word the question counts with, the ``unit`` group of ``asks``)."""

    asks: str
    looks: str | None
    example: str


# The first rule whose ``asks`` matches the question is used.
ANSWER_SHAPES: tuple[ShapeRule, ...] = (
    ShapeRule(r"岁数|年纪|几岁|多少岁|how old", rf"[{_N}]+岁|\d+ years", "几岁 → 十九岁"),
    ShapeRule(r"多远|几里|多少里|how far", rf"[{_N}]+里|\d+ (?:miles|leagues)", "多远 → 五里"),
    ShapeRule(r"多高|多长|多深|多宽|多粗|how (?:tall|high|long|deep)", rf"[{_N}]+[丈尺寸里步]|\d+ (?:feet|foot|yards)",
              "多高 → 三丈"),
    ShapeRule(r"多少钱|多少银|几两|多少两|多少文", rf"[{_N}]+[文两钱贯]", "几两 → 五两"),
    ShapeRule(r"多少年|几年|哪一?年|何年", rf"[{_N}]+年", "几年 → 三年"),
    ShapeRule(r"多久|多长时间|多少时候", rf"[{_N}几]+(?:年|个?月|[天日]|个?时辰|更|刻)|半晌|片刻|一会|良久",
              "多久 → 几千年"),
    ShapeRule(r"多少天|几天|多少日|几日", rf"[{_N}]+[天日]", "几天 → 七日"),
    ShapeRule(r"哪一?天|哪日|哪一?夜|何日", rf"[正一二三四五六七八九十冬腊]+月|初[一二三四五六七八九十]|[{_N}]+[日号]",
              "哪天 → 九月十三"),
    ShapeRule(r"什么时辰|几时|几更|什么时候|what time|^when\b",
              r"[子丑寅卯辰巳午未申酉戌亥][时正初]|[一二三四五]更|[一二三]刻|[早午晚]上|夜里|黄昏|傍晚|天亮|o'clock"
              r"|morning|evening|night", "几更 → 三更"),
    ShapeRule(r"(?:几|多少)(?P<unit>[个位间家条棵只回遍次种句根本座匹口处层道件张首门艘片块把株人])", None,
              "几遍 → 五遍"),
    ShapeRule(r"几|多少|多大|how (?:many|much)", rf"[{_N}]{{2,}}|[{_N[3:]}](?![个声些])|\d", "多少 → 三千六百"),
    ShapeRule(r"叫什么|什么名|名叫|叫做什么|称作什么|称为什么|自称|号称|唤做什么|名号"
              r"|what (?:is|was) \w+ (?:name|called)",
              rf"[叫唤称名号][做作是为着]|教[做作]|名[叫唤]|{_NAME_FORMS}|named|called", "叫什么 → 唤做锅巴"),
)
def answer_shape(question: str | Query) -> re.Pattern[str] | None:
    """What the answer looks like, if the question says (``ANSWER_SHAPES``, the first rule whose ``asks`` matches):
    a number and its unit, a date, a span of time or a name. None when the question does not say."""
    folded = Query.parse(question).folded
    for rule in ANSWER_SHAPES:
        match = re.search(rule.asks, folded, re.IGNORECASE)
        if match:
            return re.compile(rule.looks or rf"[{_N}]+{re.escape(match.group('unit'))}", re.IGNORECASE)
    return None
