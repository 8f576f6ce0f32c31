"""The answer-reader contract and the retrieval-only reply built on it: a calibrated confidence (0..1), a sentence
presented as the answer only at ``ANSWER_FIRST`` or above, otherwise the passages said plainly to be the most related
ones, and the "does not seem to say" note only when the reader's not-found rule fires. Hand-made passages."""

from __future__ import annotations

import pytest

from novelchat.answering.heuristic import found_share, lead
from novelchat.answering.qa import NOT_SAID, PASSAGES_ONLY, retrieval_only_answer, spoken_answer
from novelchat.answering.reader import ANSWER_FIRST, Lead, Sentence
from novelchat.retrieval.passages import Passage


def passage(text: str, chapter: int = 1) -> Passage:
    return Passage("b", "灯", chapter, f"第{chapter}章", 0, len(text), text)


PASSAGES = [
    passage("林晓在灯铺里糊灯罩。灯罩纸刷了五遍桐油，晾在院子里。何伯撑船从河上经过，喊了一声。"),
    passage("镇上的人都说林家的灯好。周怀德来买灯，说要挂在望河楼上。"),
    passage("那年冬天雪很大，河面结了冰，渡船停了半个月。"),
]


def a_lead(confidence: float, answered: bool = True) -> Lead:
    return Lead([Sentence(1, "灯罩纸刷了五遍桐油，晾在院子里。", 1.0, 1.0)], answered, confidence)


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


def test_the_note_comes_only_when_the_not_found_rule_fires():
    question = "林晓给灯罩纸刷了几遍桐油？"
    assert NOT_SAID[0] not in retrieval_only_answer(PASSAGES, question, a_lead(0.1, answered=True))
    noted = retrieval_only_answer(PASSAGES, question, a_lead(0.1, answered=False))
    assert noted.startswith(f"（仅检索模式）{NOT_SAID[0]} {PASSAGES_ONLY[0]}")
    assert spoken_answer(a_lead(0.1, answered=False), question) == NOT_SAID[0]


def test_the_heuristic_says_not_found_only_when_the_passages_hold_almost_none_of_the_question():
    missing = "沈墨舟会弹什么乐器？"  # none of its words are in the passages
    assert found_share(PASSAGES, missing) < 0.11 and not lead(PASSAGES, missing).answered
    asked = "林晓给灯罩纸刷了几遍桐油？"
    assert found_share(PASSAGES, asked) > 0.5 and lead(PASSAGES, asked).answered
