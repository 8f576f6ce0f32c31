"""Retrieval-only replies on the novella's real index: an answer sentence first only when the reader is sure, no
repeated passages, the "not in the book" note rarely on answerable questions, and what the voice reads."""

from __future__ import annotations

import json
import re

from novelchat.answering.heuristic import emphasis, lead, narration, sentences
from novelchat.answering.qa import PASSAGES_ONLY, answer_question, highlight, snippet
from novelchat.answering.shapes import answer_shape
from novelchat.retrieval.evaluate import squash
from novelchat.retrieval.library import Library
from novelchat.retrieval.passages import repeats
from tests.conftest import ROOT, retrieve_all

QA = [json.loads(line) for line in (ROOT / "tests" / "data" / "novella_qa.jsonl").read_text("utf-8").splitlines()]


def reply(library: Library, question: str) -> tuple[str, str | None]:
    turn = answer_question(question, library, None, library.scope_of_all())
    return "".join(turn.stream), turn.spoken


def opening(text: str) -> str:
    """What the reply says before the passages: its first paragraph."""
    return text.split("\n\n")[0]


def test_an_answer_shown_first_is_cited_and_holds_the_answer(library):
    """Over the novella's questions, a reply presents a sentence as the answer only when the reader is confident, and
    then it holds the answer (bench/answer_trust.py: precision 1.0 on the fitted books; >= 0.85 here is the slack)."""
    shown = right = 0
    for item in QA:
        first = opening(reply(library, item["question"])[0])
        if PASSAGES_ONLY[0] in first or first.startswith("（仅检索模式）书中"):
            continue
        shown += 1
        assert first.startswith("（仅检索模式）") and first.rstrip().endswith("]"), first
        right += any(squash(a) in squash(first) for a in item["answers"])
    assert shown >= 3 and right >= 0.85 * shown, (shown, right)


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
    text, spoken = reply(library, "案子是哪天在安平县衙审结的？")
    assert spoken and "十月初五" in spoken
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


def test_answer_shapes_for_durations_and_names():
    counted = answer_shape("如来感叹山中方七日，世上已经过了多久？")
    assert counted.search("世上几千年") and not counted.search("贫僧在路已经过一十四遍寒暑")
    named = answer_shape("那条黄狗叫什么？")
    assert named.search("林晓叫它“锅巴”") and not named.search("他叫声“师父。”")  # a quoted sentence is no name
    assert named.search("我这坐禅有一异名教做云梯显圣")  # 教做: 西游记's 叫做
    assert named.search("宝钗笑道：原来是《负荆请罪》！")  # a title in 《》 is a name
