"""The answer-reader contract and the retrieval-only reply built on it: a calibrated confidence (0..1), a sentence
presented as the answer only at ``ANSWER_FIRST`` or above, otherwise the passages said plainly to be the most related
ones, and never a claim that the book does not say. Hand-made passages."""

from __future__ import annotations

import pytest

from novelchat.answering.heuristic import lead
from novelchat.answering.qa import (
    PASSAGES_ONLY,
    SNIPPET_CHARS,
    SNIPPET_CHARS_LATIN,
    retrieval_only_answer,
    snippet,
    spoken_answer,
)
from novelchat.answering.reader import ANSWER_FIRST, Lead, Sentence
from novelchat.retrieval.passages import Passage
from tests.conftest import passage as a_passage


def passage(text: str, chapter: int = 1) -> Passage:
    return a_passage(text, chapter, title="灯")


PASSAGES = [
    passage("林晓在灯铺里糊灯罩。灯罩纸刷了五遍桐油，晾在院子里。何伯撑船从河上经过，喊了一声。"),
    passage("镇上的人都说林家的灯好。周怀德来买灯，说要挂在望河楼上。"),
    passage("那年冬天雪很大，河面结了冰，渡船停了半个月。"),
]


def a_lead(confidence: float) -> Lead:
    return Lead([Sentence(1, "灯罩纸刷了五遍桐油，晾在院子里。", 1.0, 1.0)], confidence)


@pytest.mark.parametrize("question", ["林晓给灯罩纸刷了几遍桐油？", "周怀德要把灯挂在哪里？", "林晓养的猫叫什么？",
                                      "How many times was the lampshade oiled?"])
def test_a_lead_has_a_probability_for_its_confidence(question):
    best = lead(PASSAGES, question)
    assert best is not None and 0.0 <= best.confidence <= 1.0


def test_a_sentence_that_clearly_answers_is_more_confident_than_one_that_does_not():
    assert lead(PASSAGES, "林晓给灯罩纸刷了几遍桐油？").confidence > lead(PASSAGES, "何伯冬天去了哪个镇子？").confidence


def test_a_confident_lead_opens_the_reply_as_the_answer_cited():
    best = a_lead(ANSWER_FIRST + 0.01)
    text = retrieval_only_answer(PASSAGES, "林晓给灯罩纸刷了几遍桐油？", best)
    assert text.split("\n\n")[0] == "（仅检索模式）灯罩纸刷了五遍桐油，晾在院子里。 [1]"
    assert spoken_answer(best, "林晓给灯罩纸刷了几遍桐油？") == "灯罩纸刷了五遍桐油，晾在院子里。"


@pytest.mark.parametrize("question, header", [("林晓给灯罩纸刷了几遍桐油？", PASSAGES_ONLY[0]),
                                              ("How many times was the lampshade oiled?", PASSAGES_ONLY[1])])
def test_below_the_threshold_only_the_related_passages_are_shown_no_sentence_as_the_answer(question, header):
    best = a_lead(ANSWER_FIRST - 0.01)
    text = retrieval_only_answer(PASSAGES, question, best)
    first, *rest = text.split("\n\n")
    assert first == f"（仅检索模式）{header}"
    assert "刷了五遍桐油，晾在院子里。 [1]" not in text  # the sentence is not presented, cited, as the answer
    assert len(rest) == len(PASSAGES) and rest[0].startswith("[1] 《灯》第1章")
    assert spoken_answer(best, question) == header.rstrip("：:")  # a short line, not the sentence


def test_no_reply_without_a_model_says_the_book_does_not_answer():
    """The reader only ranks: even passages holding none of the question get no "the book does not say" (no rule over
    passages made that call right often enough on books it was not fitted on: bench/answer_trust.py)."""
    missing = "沈墨舟会弹什么乐器？"  # none of its words are in the passages
    best = lead(PASSAGES, missing)
    text = retrieval_only_answer(PASSAGES, missing, best)
    assert not best.shown_as_answer and text.startswith(f"（仅检索模式）{PASSAGES_ONLY[0]}")
    assert "没有提到" not in text and "does not" not in text
    assert spoken_answer(best, missing) == PASSAGES_ONLY[0].rstrip("：")


LONG = passage("林晓在灯铺里糊灯罩，一糊就是一整天。" * 6 + "那盏灯后来挂在望河楼上，三年没有灭过。"
               + "院子里晾着新糊的灯罩。" * 6)


def test_each_passage_is_cut_around_its_best_sentence():
    """The reader's best sentence of each passage (``Lead.anchors``) is what the reply shows of it, even where the
    question's words crowd elsewhere (灯罩 fills the passage; the answer sentence holds 望河楼)."""
    question = "那盏灯挂在望河楼上多久没灭？"
    best = lead([LONG, *PASSAGES], question)
    assert best.anchors[1] == "那盏灯后来挂在望河楼上，三年没有灭过。"
    assert set(best.anchors) == {1, 2, 3, 4}
    text = retrieval_only_answer([LONG, *PASSAGES], question, best)
    first_passage = next(part for part in text.split("\n\n") if part.startswith("[1] "))
    assert "三年没有灭过" in first_passage


def test_an_english_passage_is_cut_about_as_long_in_reading_as_a_chinese_one():
    english = passage(" ".join(f"Sentence {n} tells of the lamp on the hill and the keeper's long night." for n in
                               range(12)))
    cut = snippet(english.text, "What happened at the lamp?")
    assert SNIPPET_CHARS_LATIN - 5 <= len(cut.strip("…")) <= SNIPPET_CHARS_LATIN
    assert len(snippet(LONG.text, "灯罩").strip("…")) == SNIPPET_CHARS
