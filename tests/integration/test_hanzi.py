"""A book in traditional characters (繁體) answers questions typed in simplified (简体), and the other way round:
keywords, the answer sentence, highlights and citations all read both scripts as one."""

from __future__ import annotations

import json

import opencc
import pytest

from novelchat.answering.heuristic import lead
from novelchat.answering.qa import answer_question, highlight
from novelchat.index.build import build_index
from novelchat.retrieval.evaluate import squash
from novelchat.retrieval.library import Library
from novelchat.retrieval.scope import Scope
from novelchat.roleplay.card_draft import draft_card
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
    text = "".join(turn.stream)
    assert "《青石鎮的燈》" in text and "硯臺" in text  # the book's own characters, not converted
    assert "青石镇的灯" not in text and "砚台" not in text
    marked = [piece for piece, hit in highlight("何伯的渡船拴在渡口", "何伯那條渡船叫什麼名字？") if hit]
    assert "渡船" in marked and "何伯" in marked
    assert [piece for piece, hit in highlight("何長庚的渡船", "何长庚的渡船叫什么？") if hit] == ["何長", "渡船"]


def test_traditional_questions_find_a_simplified_book(library):
    result = retrieve_all(library, "林曉給燈罩紙刷了幾遍桐油？", 5)
    assert "五遍" in lead(result.passages, "林曉給燈罩紙刷了幾遍桐油？", result.rarity).sentences[0].text


def test_a_card_is_drafted_from_a_traditional_book_by_its_simplified_name(traditional):
    data = draft_card("林晓", Scope.whole([TITLE]), traditional)["data"]
    assert data["name"] == "林晓" and "{{char}}:" in data["mes_example"]
    assert any(ch in data["mes_example"] + data["first_mes"] for ch in "們說這燈爹個")  # her lines, as written
