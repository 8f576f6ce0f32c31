"""Retrieval-only replies on the novella's real index: the answer sentence first, no repeated passages, a note
when the book does not seem to say, and what the voice reads."""

from __future__ import annotations

import json
import re

import pytest

from novelchat.answering.heuristic import emphasis, lead, narration, sentences
from novelchat.answering.qa import answer_question, highlight, snippet
from novelchat.answering.shapes import answer_shapes
from novelchat.retrieval.evaluate import squash
from novelchat.retrieval.library import Library
from novelchat.retrieval.passages import Passage, repeats
from tests.conftest import ROOT, retrieve_all

QA = [json.loads(line) for line in (ROOT / "tests" / "data" / "novella_qa.jsonl").read_text("utf-8").splitlines()]


@pytest.fixture(scope="module")
def library(novella_index) -> Library:
    return Library(novella_index)


def reply(library: Library, question: str) -> tuple[str, str | None]:
    turn = answer_question(question, library, None, library.scope_of_all())
    return "".join(turn.stream), turn.spoken


def opening(text: str) -> str:
    """What the reply says before the passages: its first paragraph."""
    return text.split("\n\n")[0]


@pytest.mark.parametrize(("question", "answer"), [
    ("林晓给灯罩纸刷了几遍桐油？", "五遍"),
    ("芦花洲离渡口顺水有多远？", "五里"),
    ("钱掌柜给沈墨舟安排的是哪间房？", "天字三号房"),
    ("林晓的爷爷叫什么名字？", "林敬山"),
    ("案子是哪天在安平县衙审结的？", "十月初五"),
])
def test_the_reply_opens_with_the_sentence_that_answers_cited(library, question, answer):
    text, _ = reply(library, question)
    first = opening(text)
    assert answer in first and first.startswith("（仅检索模式）") and first.rstrip().endswith("]")
    assert "最相关的原文段落" in text  # the passages still follow


def test_the_answer_sentence_holds_the_answer_for_most_novella_questions(library):
    """The first sentence shown: today 67/83 (0.807), against 56/83 for the first text shown before (passage 1's
    snippet). The figure lives in bench/answer_sentence.py (target 0.8); this test keeps slack for rule changes."""
    sentence = baseline = 0
    for item in QA:
        found = retrieve_all(library, item["question"], 5)
        first = lead(found.passages, item["question"], found.rarity).sentences[0].text
        answers = [squash(a) for a in item["answers"]]
        sentence += any(a in squash(first) for a in answers)
        baseline += any(a in squash(snippet(found.passages[0].text, item["question"])) for a in answers)
    assert sentence / len(QA) >= 0.75 and sentence >= baseline + 5, (sentence, baseline)


def test_when_the_book_does_not_say_the_reply_says_so_and_still_shows_the_closest(library):
    text, spoken = reply(library, "林晓最喜欢吃什么水果？")
    assert opening(text).startswith("（仅检索模式）书中似乎没有提到这一点。") and "最接近的是" in opening(text)
    assert "[1] 《青石镇的灯》" in text and spoken == "书中似乎没有提到这一点。"
    said = sum(not lead(*_found(library, item["question"])).answered for item in QA)
    assert said <= 0.07 * len(QA), f"{said} answerable questions were said not to be in the book"


def _found(library: Library, question: str):
    found = retrieve_all(library, question, 5)
    return found.passages, question, found.rarity


def test_no_two_passages_show_the_same_stretch_of_the_book(library):
    """Neighbouring chunks share 100 characters: before, 68 of 86 questions got two overlapping passages."""
    for item in QA:
        passages = retrieve_all(library, item["question"], 5).passages
        assert len(passages) == 5, item["question"]  # filled from further down the list
        for i, a in enumerate(passages):
            for b in passages[:i]:
                assert not (a.start < b.end and b.start < a.end), (item["question"], a.citation, b.citation)
                assert not repeats(a.text, b.text)


def test_the_voice_reads_the_answer_sentence_only(library):
    text, spoken = reply(library, "林晓给灯罩纸刷了几遍桐油？")
    assert spoken and "五遍" in spoken
    assert spoken == re.sub(r" \[\d\]", "", opening(text).removeprefix("（仅检索模式）"))  # the cited sentence(s)
    assert not any(mark in spoken for mark in ("[", "《", "（", "–", "仅检索"))


def test_question_words_are_no_keywords():
    """什么/哪天/几 say what is asked: not highlighted, not searched (叫什 matched every “你叫什么”)."""
    marked = [piece for piece, hit in highlight("他问：“你叫什么？”何伯的船叫老泥鳅。", "何伯的船叫什么？") if hit]
    assert marked and not any("什" in piece for piece in marked)
    assert "哪吒" in emphasis("哪吒用什么兵器？") and not any("什" in t for t in emphasis("哪吒用什么兵器？"))
    weights = emphasis("孙悟空学艺归来，得知霸占水帘洞的妖魔自称什么？")
    assert weights["自称"] > weights["妖魔"] > weights["孙悟空"]  # beside the question word, then its clause


def test_sentences_keep_their_closing_quotes():
    cut = sentences("“顺水往下，五里。”何伯说。Then he left. 好！")
    assert cut == ["“顺水往下，五里。”", "何伯说。", "Then he left.", "好！"]
    # 红楼梦's full stop is ．, except in a number
    assert sentences("贾蓉笑道：“好．”凤姐点头．重３．５斤。") == ["贾蓉笑道：“好．”", "凤姐点头．", "重３．５斤。"]


def test_what_can_answer_in_a_sentence():
    """A bare question or speech tag never answers; narration before a quoted question does."""
    assert narration("“芦花洲离这里有多远？”") == "" and narration("何伯问：“芦花洲离这里有多远？”") == ""
    assert narration("美猴王暗暗的自称道：") == ""
    assert narration("掌柜端着一碟炒花生凑过来，坐下：“先生是读书人吧？”") == "掌柜端着一碟炒花生凑过来，坐下"
    assert narration("何伯说：“五里。”") == "何伯说：“五里。”"


def test_where_the_question_asks_without_a_measure_word():
    """哪 before a number or any word (哪五个字, 哪一宫) is where the question asks: the words beside it count most."""
    weights = emphasis("唐僧师徒到西梁女国时，驿馆衙门匾上写的是哪三个字？")
    assert weights["个字"] > weights["西梁"] and not any("哪" in token for token in weights)


def test_a_sentence_that_refers_back_takes_the_previous_ones_words():
    """它/她 point at what the sentence before named: 黄狗 counts in the sentence that says what it is called."""
    text = ("船舱里趴着一条黄狗，见有生人上船，抬起头呜了一声。林晓蹲下去摸它的脑袋：“锅巴，你又胖了。”"
            "旁边的船夫也笑了。")
    best = lead([Passage("b", "书", 3, "第三章", 0, len(text), text)], "何伯船上那条黄狗叫什么？")
    assert "锅巴" in best.sentences[0].text


def test_the_answer_names_one_of_the_kind_of_thing_asked():
    """什么灯 is answered by …灯 (荷花灯), 哪座山 by a named mountain (紫云山, not 此山 or 一座山), 哪一间 by
    第七间, and a name the question already holds answers nothing."""
    _, lamp = answer_shapes("林晓送了周怀德一盏什么灯？")
    assert lamp.found("手里提着一盏新糊的荷花灯") and not lamp.found("她把那盏灯挂上")
    _, mountain = answer_shapes("毗蓝婆住在哪座山的千花洞里？")
    assert mountain.found("那厢有一座山名唤紫云山") and not mountain.found("此山有一座山")
    assert not mountain.found("千花洞的山")  # not a name: the question's own words
    _, store = answer_shapes("林守拙被关在哪一间库房底下？")
    assert store.found("贴着墙根来到第七间库房后面") and not store.found("一共十二间")
    assert answer_shapes("周怀德是什么时候来的？")[1] is None  # 什么时候, 什么名字, 哪里: no kind of thing


def test_answer_shapes_for_durations_and_names():
    counted, _ = answer_shapes("如来感叹山中方七日，世上已经过了多久？")
    assert counted.found("世上几千年") and not counted.found("贫僧在路已经过一十四遍寒暑")
    named, _ = answer_shapes("那条黄狗叫什么？")
    assert named.found("林晓叫它“锅巴”") and not named.found("他叫声“师父。”")  # a quoted sentence is no name
    assert named.found("我这坐禅有一异名教做云梯显圣")  # 教做: 西游记's 叫做
    assert named.found("宝钗笑道：原来是《负荆请罪》！")  # a title in 《》 is a name
