"""Traditional (繁體) and simplified (简体) read as one, without a book: folding, citations, a character's lines and
lorebook keys (the books themselves: tests/integration/test_hanzi.py)."""

from __future__ import annotations

from novelchat.answering.grounding import best_source
from novelchat.retrieval.passages import Passage
from novelchat.roleplay.cards import LoreEntry, Persona
from novelchat.roleplay.speakers import attribute, lines_of
from novelchat.text.hanzi import simplified

TITLE = "青石鎮的燈"


def test_simplified_keeps_the_length_and_leaves_other_text_alone():
    text = "萬聖公主從大羅天靈霄殿前偷了王母娘娘的九葉靈芝草。「說」"
    assert simplified(text) == "万圣公主从大罗天灵霄殿前偷了王母娘娘的九叶灵芝草。「说」"
    assert len(simplified(text)) == len(text)
    assert simplified("The Lamp at Gull Point, 1892.") == "The Lamp at Gull Point, 1892."


def test_a_model_answer_in_simplified_cites_a_traditional_passage():
    passages = [Passage("a", TITLE, 1, "第一章", 0, 20, "何伯的渡船拴在渡口。"),
                Passage("b", TITLE, 1, "第一章", 20, 40, "林曉今年十九歲，是燈鋪的獨女。")]
    assert best_source("她是灯铺的独女，十九岁。", passages, "林晓多大？") == 2  # unfolded, one pair in common: none


def test_a_characters_lines_in_a_traditional_book_keep_its_characters():
    text = "林曉笑道：“我爹說過，燈不能滅。”何伯點點頭：“是這個理。”"
    assert lines_of(text, ["林晓", "晓丫头"], [["何伯"]]) == ["我爹說過，燈不能滅。"]
    assert [q.speaker for q in attribute(text, [["林晓"], ["何伯"]])] == ["林晓", "何伯"]  # the card's names


def test_a_lorebook_key_in_either_script_is_mentioned():
    lore = [LoreEntry(keys=["燈鋪"], content="明光燈鋪在青石板街上。"),
            LoreEntry(keys=["渡口"], content="渡口在镇东。")]
    persona = Persona(name="林晓", lore=lore)
    assert persona.lore_for(["你家的灯铺开了多少年？"]) == ["明光燈鋪在青石板街上。"]
