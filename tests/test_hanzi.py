"""A book in traditional characters (繁體) answers questions typed in simplified (简体), and the other way round:
keywords, the answer sentence, highlights and citations all read both scripts as one."""

from __future__ import annotations

import json

import opencc
import pytest

from novelchat.answering.grounding import best_source
from novelchat.answering.heuristic import lead
from novelchat.answering.qa import answer_question, highlight
from novelchat.index.build import build_index
from novelchat.retrieval.evaluate import squash
from novelchat.retrieval.library import Library
from novelchat.retrieval.passages import Passage
from novelchat.retrieval.scope import Scope
from novelchat.roleplay.card_draft import draft_card
from novelchat.roleplay.cards import LoreEntry, Persona
from novelchat.roleplay.speakers import attribute, lines_of
from novelchat.text.hanzi import simplified
from tests.conftest import NOVELLA, ROOT, make_settings, retrieve_all

QA = [json.loads(line) for line in (ROOT / "tests" / "data" / "novella_qa.jsonl").read_text("utf-8").splitlines()]
TITLE = "青石鎮的燈"


@pytest.fixture(scope="module")
def traditional(tmp_path_factory) -> Library:
    """The novella converted to traditional characters, keywords only (no vectors: the keywords are what is tested)."""
    base = tmp_path_factory.mktemp("traditional")
    (base / "corpus").mkdir()
    text = opencc.OpenCC("s2t").convert(NOVELLA.read_text("utf-8"))
    assert "燈" in text and "灯" not in text
    (base / "corpus" / f"{TITLE}.txt").write_text(text, "utf-8")
    settings = make_settings(base / "corpus", base / "chroma")
    build_index(settings, dense=False)
    return Library(settings)


def test_simplified_keeps_the_length_and_leaves_other_text_alone():
    text = "萬聖公主從大羅天靈霄殿前偷了王母娘娘的九葉靈芝草。「說」"
    assert simplified(text) == "万圣公主从大罗天灵霄殿前偷了王母娘娘的九叶灵芝草。「说」"
    assert len(simplified(text)) == len(text)
    assert simplified("The Lamp at Gull Point, 1892.") == "The Lamp at Gull Point, 1892."


def test_simplified_questions_find_a_traditional_book(traditional):
    """Without folding, 34 of 83 questions found a passage with the answer (keywords only); now 79."""
    found = answered = 0
    for item in QA:
        result = retrieve_all(traditional, item["question"], 5)
        answers = [squash(a) for a in item["answers"]]
        found += any(a in squash(p.text) for p in result.passages for a in answers)
        best = lead(result.passages, item["question"], result.rarity)
        answered += bool(best) and any(a in squash(best.sentences[0].text) for a in answers)
    assert found / len(QA) >= 0.9, found
    assert answered / len(QA) >= 0.75, answered  # the answer sentence: 66 of 83 (26 without folding)


def test_the_reply_quotes_the_book_in_its_own_characters(traditional):
    turn = answer_question("钱掌柜给沈墨舟安排的是哪间房？", traditional, None, Scope.whole([TITLE]))
    opening = "".join(turn.stream).split("\n\n")[0]
    assert "天字三號房" in opening  # the book's characters, not converted
    marked = [piece for piece, hit in highlight("何伯的渡船拴在渡口", "何伯那條渡船叫什麼名字？") if hit]
    assert "渡船" in marked and "何伯" in marked
    assert [piece for piece, hit in highlight("何長庚的渡船", "何长庚的渡船叫什么？") if hit] == ["何長", "渡船"]


def test_traditional_questions_find_a_simplified_book(library):
    result = retrieve_all(library, "林曉給燈罩紙刷了幾遍桐油？", 5)
    assert "五遍" in lead(result.passages, "林曉給燈罩紙刷了幾遍桐油？", result.rarity).sentences[0].text


def test_a_model_answer_in_simplified_cites_a_traditional_passage():
    passages = [Passage("a", TITLE, 1, "第一章", 0, 20, "何伯的渡船拴在渡口。"),
                Passage("b", TITLE, 1, "第一章", 20, 40, "林曉今年十九歲，是燈鋪的獨女。")]
    assert best_source("她是灯铺的独女，十九岁。", passages, "林晓多大？") == 2  # unfolded, one pair in common: none


def test_a_characters_lines_in_a_traditional_book_keep_its_characters():
    text = "林曉笑道：“我爹說過，燈不能滅。”何伯點點頭：“是這個理。”"
    assert lines_of(text, ["林晓", "晓丫头"], [["何伯"]]) == ["我爹說過，燈不能滅。"]
    assert [q.speaker for q in attribute(text, [["林晓"], ["何伯"]])] == ["林晓", "何伯"]  # the card's names


def test_a_card_is_drafted_from_a_traditional_book_by_its_simplified_name(traditional):
    data = draft_card("林晓", Scope.whole([TITLE]), traditional)["data"]
    assert data["name"] == "林晓" and "{{char}}:" in data["mes_example"]
    assert any(ch in data["mes_example"] + data["first_mes"] for ch in "們說這燈爹個")  # her lines, as written


def test_a_lorebook_key_in_either_script_is_mentioned():
    lore = [LoreEntry(keys=["燈鋪"], content="明光燈鋪在青石板街上。"),
            LoreEntry(keys=["渡口"], content="渡口在镇东。")]
    persona = Persona(name="林晓", lore=lore)
    assert persona.lore_for(["你家的灯铺开了多少年？"]) == ["明光燈鋪在青石板街上。"]
