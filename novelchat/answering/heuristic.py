"""The sentence that answers: picked from the retrieved passages when there is no chat model to write an answer.

Each sentence of the passages is scored by the question's keywords it holds (question words such as 什么/哪天/what
left out), each weighted by how rare it is in the book (IDF) and by how close it stands to the question word in the
question (雇何伯船的汉子有什么特征: 特征 and 汉子 count more than 何伯). A keyword in a neighbouring sentence counts
half (questions are often about the sentence after the one that names the scene); a question in the text (“芦花洲离
这里有多远？”) hands its keywords to the next sentence, where its answer is, and is never the answer itself. A
sentence shaped like the answer the question asks for (几遍 → 五遍, 哪天 → 九月十三, 叫什么 → 唤做…) counts double;
one that names a thing of the kind asked (什么灯 → 荷花灯, 哪座山 → 紫云山) ranks a little higher. A keyword further
away in the same passage still counts a little: the passage is about it.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from itertools import pairwise

from novelchat.text.hanzi import simplified
from novelchat.index.lexical import MEASURES, QUESTION_WORDS, query_tokens
from novelchat.books.novel import CHAPTER_HEADING
from novelchat.retrieval.library import Passage

# ． is the full stop of some editions (红楼梦 here: 19,729 of them to 8,521 。), unless it is a decimal point.
_SENTENCE_END = re.compile(r"(?:[。！？!?…]|．(?![0-9０-９]))+[”’」』\"']*|\.(?=\s)[”’\"']*|\n+")
_CLAUSE_END = re.compile(r"[，,、；;：:]")
_QUOTE_OPENS = re.compile(r"[：:]\s*[“「\"]")
_SPEECH_TAG = re.compile(r"^\s*$|[道说问叫曰喊呼]$")
_PRONOUN = re.compile(r"[它她牠]")  # a sentence that refers back takes the previous one's keywords
_QUOTES = re.compile(r"[“”‘’「」『』\"']")
_CLOSERS = "”’」』\"' "
_N = "0-9零〇一二三四五六七八九十百千万两半廿"
# How a book gives a name: 小字/法名/绰号…, a short quoted name (not a quoted sentence: “师父。”), a 《title》, or a
# name after a colon (道：“锅巴，…).
_NAME_FORMS = (r"[小表]字|小名|乳名|法名|道号|绰号|诨名|[“「‘\"][^”」’\"，。！？．]{1,8}[”」’\"]|《[^》]{1,12}》"
               r"|[：:][“「][^，。！？”」]{2,3}[，！、]")
# (what the question asks, what its answer looks like); the first that matches the question is used. None: a
# number before the measure word the question counts with (几遍 → 五遍, 多少株 → 三千六百株).
ANSWER_SHAPES: list[tuple[str, str | None]] = [
    (r"岁数|年纪|几岁|多少岁|how old", rf"[{_N}]+岁|\d+ years"),
    (r"多远|几里|多少里|how far", rf"[{_N}]+里|\d+ (?:miles|leagues)"),
    (r"多高|多长|多深|多宽|多粗|how (?:tall|high|long|deep)", rf"[{_N}]+[丈尺寸里步]|\d+ (?:feet|foot|yards)"),
    (r"多少钱|多少银|几两|多少两|多少文", rf"[{_N}]+[文两钱贯]"),
    (r"多少年|几年|哪一?年|何年", rf"[{_N}]+年"),
    (r"多久|多长时间|多少时候", rf"[{_N}几]+(?:年|个?月|[天日]|个?时辰|更|刻)|半晌|片刻|一会|良久"),
    (r"多少天|几天|多少日|几日", rf"[{_N}]+[天日]"),
    (r"哪一?天|哪日|哪一?夜|何日", rf"[正一二三四五六七八九十冬腊]+月|初[一二三四五六七八九十]|[{_N}]+[日号]"),
    (r"什么时辰|几时|几更|什么时候|what time|^when\b",
     r"[子丑寅卯辰巳午未申酉戌亥][时正初]|[一二三四五]更|[一二三]刻|[早午晚]上|夜里|黄昏|傍晚|天亮|o'clock|morning|evening|night"),
    (r"(?:几|多少)(?P<unit>[个位间家条棵只回遍次种句根本座匹口处层道件张首门艘片块把株人])", None),
    (r"几|多少|多大|how (?:many|much)", rf"[{_N}]{{2,}}|[{_N[3:]}](?![个声些])|\d"),
    (r"叫什么|什么名|名叫|叫做什么|称作什么|称为什么|自称|号称|唤做什么|名号|what (?:is|was) \w+ (?:name|called)",
     rf"[叫唤称名号][做作是为着]|教[做作]|名[叫唤]|{_NAME_FORMS}|named|called"),
]
# 什么/哪 + a kind of thing (什么灯, 哪座山, 哪一宫), or the thing before 叫什么 (那座山叫什么名字): the answer
# names one of that kind (荷花灯, 紫云山, 巽宫) or counts to it (哪一间 → 第七间).
_KIND_ASKED = re.compile(r"(?:什么|甚么)(?P<kind>[\u4e00-\u9fff])")
_WHICH_ASKED = re.compile(rf"哪(?!吒)一?(?P<measure>[{MEASURES}])?(?P<kind>[\u4e00-\u9fff])?")
_KIND_NAMED = re.compile(r"(?P<kind>[\u4e00-\u9fff])[头子儿]?(?:叫|唤|称|名叫|被称作|被称为|又?叫做)(?:什么|甚么)")
# What the question calls a name: 什么名字, 什么别名, 什么外号… are part of the question, not its keywords.
_NAME_WORDS = "名字|名号|名称|别名|异名|外号|绰号|诨名|法名|称号|名"
# Kinds that are no kind of thing: 什么名字, 什么颜色, 什么样, 什么时候, 什么地方, 什么人, 什么事, 哪里, 哪儿.
_NO_KIND = "名颜样时地人事东意话里儿"
# Characters that do not begin a name: 此山, 一座山, 哪座山, 的灯铺, 将刀 name nothing.
_NOT_A_NAME = f"这那此该本其每各哪何什甚么一的之了将把是在有和与被对从向着过得也又都就还只我你他她它{MEASURES}"
# What names the answer to any 什么/谁/哪 question: 乃是…, 原来是…, 名唤…, a short quoted name.
NAMING = re.compile(rf"乃是|原来是|原是|却是|便是|正是|就是|名[叫唤为]|[叫唤教][做作]|{_NAME_FORMS}")
ASKS_NAME = re.compile(r"什么|甚么|谁|哪|何人|何物|\b(?:what|who|which)\b", re.IGNORECASE)
NAMING_BONUS = 0.3
# Where the question asks: its question words, and 哪/几 before any word (哪一宫, 哪五个字, 代表几), 哪吒 aside.
ASKED = re.compile(rf"(?:什么|甚么)(?:{_NAME_WORDS})|{QUESTION_WORDS.pattern}|哪(?!吒)[{_N}]*|几(?!乎)", re.IGNORECASE)
SHAPE_BONUS = 1.0  # a sentence shaped like the answer scores (1 + this) times as much
NEIGHBOUR = 0.5  # a keyword one sentence away counts this much (two away: squared)
FOCUS = 2.0  # a keyword right beside the question word counts (1 + this) times as much; 2 characters away, half that
CORE_CLAUSE = 2.0  # keywords in the question's own clause (after 孙悟空学艺归来，) count this many times as much
ANSWERED = 0.17  # a best sentence holding less of the question's weight: the book does not seem to say
KIND_BONUS = 0.15  # a sentence naming one of the kind of thing asked ranks (1 + this) times as high
IN_PASSAGE = 0.1  # a keyword elsewhere in the passage, more than two sentences away, counts this much
RUNNER_UP = 0.8  # the second-best sentence joins the lead when it scores this much of the best


@dataclass
class Sentence:
    """One sentence of passage ``number`` (1-based) and how well it answers: ``held``, the share of the question's
    weight it holds (doubled when shaped like the answer); ``score``, what ranks it (more when it names something)."""

    number: int
    text: str
    score: float
    held: float


@dataclass
class Lead:
    """What opens a retrieval-only reply: the best sentence(s), and whether they seem to answer at all."""

    sentences: list[Sentence]
    answered: bool

    @property
    def text(self) -> str:
        """The sentences alone, no citations: what the voice reads."""
        return "".join(s.text for s in self.sentences)


def sentences(text: str) -> list[str]:
    """The text cut after 。！？!?…． (and any closing quotes), after ". " and at line breaks."""
    pieces, last = [], 0
    for end in _SENTENCE_END.finditer(text):
        pieces.append(text[last: end.end()].strip())
        last = end.end()
    pieces.append(text[last:].strip())
    return [piece for piece in pieces if piece and any(ch.isalnum() for ch in piece)]


def narration(sentence: str) -> str:
    """What can answer in the sentence: all of it, but only the narration before a question it quotes (掌柜端着一碟
    炒花生凑过来，在他对面坐下：“先生是读书人吧？” → 掌柜…坐下); nothing when it only asks (“芦花洲离这里有多远？”),
    after a speech tag alone (何伯问：“…？”), or introduces a speech (美猴王暗暗的自称道：)."""
    if sentence.rstrip(_CLOSERS).endswith(("：", ":")):
        return ""
    if not is_question(sentence):
        return sentence
    said = _QUOTE_OPENS.search(sentence)
    before = sentence[: said.start()] if said else ""
    return "" if _SPEECH_TAG.search(before) else before


def is_question(sentence: str) -> bool:
    """Whether the sentence asks (ends in ？ or ?, closing quotes aside)."""
    return sentence.rstrip(_CLOSERS).endswith(("？", "?"))


def emphasis(question: str) -> dict[str, float]:
    """Each keyword of the question and how much it counts: more beside the question word and in its clause."""
    blank = ASKED.sub(lambda match: " " * len(match.group()), question).lower()
    asked = [m.span() for m in ASKED.finditer(question)]
    bounds = [0, *(m.end() for m in _CLAUSE_END.finditer(question)), len(question) + 1]
    core = [(a, b) for a, b in pairwise(bounds) if any(a <= start < b for start, _ in asked)]
    weights = {}
    for token in set(query_tokens(blank)):
        at = [m.span() for m in re.finditer(re.escape(token), blank)]
        gap = min((max(qs - end, start - qe, 0) for start, end in at for qs, qe in asked), default=math.inf)
        inside = len(core) < len(bounds) - 1 and any(a <= start < b for start, _ in at for a, b in core)
        weights[token] = (1 + FOCUS * 0.5 ** (gap / 2)) * (CORE_CLAUSE if inside else 1.0)
    return weights


@dataclass(frozen=True)
class AnswerShape:
    """What the answer to a question looks like: ``pattern``, where what matches is not already in ``question``
    (哪座山 is answered by 紫云山, not by the question's own words)."""

    pattern: re.Pattern[str]
    question: str = ""

    def found(self, text: str) -> bool:
        """Whether ``text`` holds an answer of this shape."""
        return any(match.group() not in self.question for match in self.pattern.finditer(text))


def answer_shapes(question: str) -> tuple[AnswerShape | None, AnswerShape | None]:
    """What the answer to this question looks like, if the question says: a number and its unit, a date or a name
    (``ANSWER_SHAPES``); and one of the kind of thing asked (什么灯 → 荷花灯)."""
    counted, kind = _counted_shape(question), _kind_shape(question)
    return AnswerShape(counted) if counted else None, AnswerShape(kind, question) if kind else None


def _counted_shape(question: str) -> re.Pattern[str] | None:
    """The first of ``ANSWER_SHAPES`` the question asks for."""
    for asks, looks in ANSWER_SHAPES:
        match = re.search(asks, question, re.IGNORECASE)
        if match:
            return re.compile(looks or rf"[{_N}]+{re.escape(match.group('unit'))}", re.IGNORECASE)
    return None


def _kind_shape(question: str) -> re.Pattern[str] | None:
    """A name ending in the kind of thing asked (什么灯 → 荷花灯; 那座山叫什么 → 紫云山), or 第N + the measure asked
    (哪一间 → 第七间)."""
    forms = []
    asked = (match for pattern in (_KIND_ASKED, _WHICH_ASKED, _KIND_NAMED) for match in pattern.finditer(question))
    for match in asked:
        kind, measure = match.group("kind"), match.groupdict().get("measure")
        if kind and kind not in _NOT_A_NAME + _NO_KIND:
            forms.append(rf"[^\W\d{_NOT_A_NAME}]{{2}}{kind}")
        if measure:
            forms.append(rf"第[{_N}]+{measure}")
    return re.compile("|".join(forms)) if forms else None


def _presence(term: str, lowered: Sequence[str], questions: Sequence[bool], i: int, own: str) -> float:
    """How much ``term`` counts for sentence ``i`` (``own``: the part of it that can answer): 1 in it, less in a
    neighbour, a little anywhere else in the passage; a question hands it on."""
    best = IN_PASSAGE if any(term in text for text in lowered) else 0.0
    for j in range(max(0, i - 2), min(len(lowered), i + 3)):
        if term in (own if j == i else lowered[j]):
            near = 1.0 if j == i - 1 and questions[j] else NEIGHBOUR ** abs(i - j)
            if j == i - 1 and _PRONOUN.search(own):
                near = max(near, 0.75)
            best = max(best, near)
    return best


def score_sentences(
    passages: Sequence[Passage], question: str, rarity: Mapping[str, float] | None = None
) -> list[Sentence]:
    """Every sentence of the passages (headings and the text's own questions left out), scored as an answer: the
    share of the question's weighted keywords it holds (doubled when it has the answer's shape).

    ``rarity`` is each keyword's IDF in the book (``Retrieval.rarity``); without it, IDF over these sentences.
    Traditional characters are read as simplified, in the question and the book alike.
    """
    question = simplified(question)
    split = [sentences(p.text) for p in passages]
    folded_split = [[simplified(s) for s in part] for part in split]
    weights = emphasis(question)
    rarity = rarity or _local_rarity(weights, [s for folded in folded_split for s in folded])
    weighted = {term: rarity.get(term, 0.0) * boost for term, boost in weights.items()}
    whole = sum(weighted.values()) or 1.0
    counted, kind = answer_shapes(question)
    names = bool(ASKS_NAME.search(question))
    scored = []
    for number, (part, folded) in enumerate(zip(split, folded_split, strict=True), 1):
        lowered, questions = [_matchable(s) for s in folded], [is_question(s) for s in folded]
        for i, sentence in enumerate(part):
            own = narration(folded[i])
            if not own or CHAPTER_HEADING.fullmatch(sentence):
                continue
            score = sum(w * _presence(t, lowered, questions, i, _matchable(own)) for t, w in weighted.items()) / whole
            plain = QUESTION_WORDS.sub(" ", own)
            if counted and counted.found(plain):
                score *= 1 + SHAPE_BONUS
            ranks = score * (1 + NAMING_BONUS) if not counted and names and NAMING.search(own) else score
            if kind and kind.found(plain):
                ranks *= 1 + KIND_BONUS
            scored.append(Sentence(number, sentence, ranks - 0.001 * number, score))  # ties: the better passage
    return scored


def _matchable(text: str) -> str:
    """The text as keywords are looked for in it: lower-cased, quotation marks out (“巽宫”位下 holds 宫位)."""
    return _QUOTES.sub("", text.lower())


def _local_rarity(terms: Mapping[str, float], texts: Sequence[str]) -> dict[str, float]:
    """IDF of each term over ``texts`` (when the book's own figures are not at hand)."""
    lowered = [t.lower() for t in texts]
    found = {term: sum(term in text for text in lowered) for term in terms}
    return {term: math.log(1 + (len(texts) - n + 0.5) / (n + 0.5)) for term, n in found.items()}


def lead(passages: Sequence[Passage], question: str, rarity: Mapping[str, float] | None = None) -> Lead | None:
    """The sentence that best answers, and the runner-up when it scores nearly as well and says something else;
    ``answered`` is False when even the best holds little of what the question asks. None when nothing to show."""
    ranked = sorted(score_sentences(passages, question, rarity), key=lambda s: -s.score)
    if not ranked:
        return None
    best = ranked[0]
    runner = next((s for s in ranked[1:] if s.text != best.text), None)
    chosen = [best] + ([runner] if runner and runner.score >= RUNNER_UP * best.score > 0 else [])
    return Lead(chosen, best.held >= ANSWERED)
