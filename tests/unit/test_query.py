"""The question parsed once (novelchat.text.query): one list of question words, the same keywords everywhere."""

from __future__ import annotations

import pytest

from novelchat.answering.heuristic import emphasis
from novelchat.answering.qa import highlight
from novelchat.text.query import Query, query_tokens

QUESTIONS = ["灯能打几折？", "属于哪一国？", "何伯的黄狗叫什么名字？", "哪吒用什么兵器？", "林晓给灯罩纸刷了几遍桐油？",
             "唐僧师徒到西梁女国时，驿馆衙门匾上写的是哪三个字？", "望河樓的燈是哪天滅的？",
             "Who built the lighthouse?"]


@pytest.mark.parametrize(("question", "keyword", "not_keyword"), [
    ("灯能打几折？", "折", "几折"),  # both question-word lists once missed these: the book says 打八折
    ("属于哪一国？", "国", "哪一国"),
    ("林晓给灯罩纸刷了几遍桐油？", "遍", "几遍"),  # 遍 stays: the answer says 五遍
    ("哪吒用什么兵器？", "哪吒", "什么"),  # 哪吒 is a name, not 哪
])
def test_question_words_leave_the_words_they_ask_about(question, keyword, not_keyword):
    keywords = Query.parse(question).keywords
    assert keyword in keywords and not_keyword not in keywords


@pytest.mark.parametrize("question", QUESTIONS)
def test_every_stage_reads_the_same_keywords(question):
    """Search (query_tokens: BM25 and the book's rarity figures) and the answer sentence's weights take the
    keywords of one parse (the weights once had 折 and 国, the rarity figures not, so they weighed nothing)."""
    query = Query.parse(question)
    assert query_tokens(question) == list(query.keywords) and set(emphasis(question)) == set(query.keywords)
    assert Query.parse(query) is query and len(query.folded) == len(question) == len(query.blanked)
    assert not any(query.blanked[a:b].strip() for a, b in query.asked)


def test_highlights_mark_the_keywords_not_the_question_words():
    marked = [piece for piece, hit in highlight("这盏灯能打八折，老板说。", "这盏灯能打几折？") if hit]
    assert marked and all(piece in Query.parse("这盏灯能打几折？").keywords for piece in marked)


def test_the_question_is_folded_once():
    query = Query.parse("望河樓的燈是哪天滅的？")
    assert query.folded == "望河楼的灯是哪天灭的？" and "灯" in query.keywords and "天" not in query.keywords
