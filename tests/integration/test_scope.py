"""Issue #12: the reader's scope (books and, for each, the last chapter read) reaches every path that reads a book —
retrieval, QA, role-play, the greeting, card drafting — and nothing past it ever does."""

from __future__ import annotations

import re

import pytest

from novelchat.answering.qa import answer_question
from novelchat.index.build import build_index
from novelchat.retrieval.library import Library
from novelchat.retrieval.scope import Scope
from novelchat.roleplay.card_draft import draft_card
from novelchat.roleplay.cards import load_personas, parse_card
from novelchat.roleplay.chains import greeting, roleplay_messages, roleplay_reply
from tests.conftest import NOVELLA, chat_model, make_settings
from tests.fake_openai_server import FakeOpenAIServer

BOOK = "青石镇的灯"
CITED_SPAN = re.compile(r"《青石镇的灯》第[^（]+（(\d+)–\d+）")  # a passage's citation: its chapter and offsets

FIFTH = NOVELLA.read_text(encoding="utf-8").index("第五章")  # where chapter 5 starts


@pytest.fixture
def server():
    with FakeOpenAIServer(reply="（测试模型）好。") as running:
        yield running


def sent_text(server) -> str:
    return "\n".join(str(m["content"]) for m in server.last_request["messages"])


def test_a_scope_is_one_value_with_a_limit_per_book():
    scope = Scope.of({"甲": 3, "乙": None})
    assert scope.titles == ("甲", "乙") and scope.limit("甲") == 3 and scope.limit("乙") is None
    assert scope.only("乙") == Scope.whole(["乙"]) and scope.only("丙").read_to == ()
    assert scope.describe() == "《甲》第 3 章；《乙》全书结尾"
    assert Scope.of({"甲": 3}).describe() == "第 3 章" and Scope.whole(["甲"]).describe() == "全书结尾"
    with pytest.raises(KeyError):
        scope.limit("丙")
    with pytest.raises(ValueError):
        Scope((("甲", 1), ("甲", 2)))
    with pytest.raises(ValueError):
        Scope.of({"甲": -1})


def test_with_all_books_each_book_keeps_its_own_limit(tmp_path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for title, animal in (("渡口", "黄狗"), ("茶馆", "花猫")):
        chapters = "".join(f"第{n}章 第{n}天\n\n第{n}天，{title}的{animal}又出来了，大家都看见了{animal}。\n\n"
                           for n in range(1, 6))
        (corpus / f"{title}.txt").write_text(chapters, encoding="utf-8")
    two_books = Library(make_settings(corpus, tmp_path / "chroma"))
    build_index(two_books.settings, dense=False)
    scope = Scope.of({"渡口": 2, "茶馆": None})
    passages = two_books.retrieve("黄狗 花猫 出来了", scope, 10, mode="bm25").passages
    by_book = {book: {p.chapter for p in passages if p.book == book} for book in ("渡口", "茶馆")}
    assert by_book["渡口"] and max(by_book["渡口"]) <= 2
    assert max(by_book["茶馆"]) > 2  # the other book is read to the end: its later chapters are found
    only_one = two_books.retrieve("黄狗 花猫", Scope.of({"茶馆": 1}), 10, mode="bm25").passages
    assert {(p.book, p.chapter) for p in only_one} == {("茶馆", 1)}  # a book out of scope is never searched


def test_qa_under_a_limit_sends_no_later_passage_and_says_where_the_reader_is(library, server, tmp_path):
    turn = answer_question("周怀德是谁？", library, chat_model(server, tmp_path), Scope.of({BOOK: 4}), k=5)
    "".join(turn.stream)
    system = server.last_request["messages"][0]["content"]
    assert "读者只读到了第 4 章" in system
    assert turn.passages and all(p.chapter <= 4 for p in turn.passages)
    assert all(int(start) < FIFTH for start in CITED_SPAN.findall(system))


def test_roleplay_under_a_limit_retrieves_and_prompts_within_it(library, server, tmp_path):
    lin_xiao = next(p for p in load_personas() if p.name == "林晓")
    turn = roleplay_reply("周怀德这个人怎么样？", lin_xiao, library, chat_model(server, tmp_path), Scope.of({BOOK: 3}))
    "".join(turn.stream)
    assert turn.passages and all(p.chapter <= 3 for p in turn.passages)
    assert "读者只读到了第 3 章" in server.last_request["messages"][0]["content"]


def test_greetings_know_where_the_reader_is(server, tmp_path):
    hello = greeting(None, Scope.of({BOOK: 2}))
    assert "《青石镇的灯》第 2 章" in hello and "不会提" in hello
    assert "不会提" not in greeting(None, Scope.whole([BOOK]))
    blank = parse_card({"name": "何伯", "description": "渡口的艄公", "extensions": {"novelchat": {"book": BOOK}}})
    assert greeting(blank, Scope.of({BOOK: 2}), chat_model(server, tmp_path)) == "（测试模型）好。"
    system = server.last_request["messages"][0]["content"]
    assert "读者只读到了第 2 章" in system and "全书结尾" not in system


def test_a_card_drafted_under_a_limit_draws_only_on_the_chapters_read(library, server, tmp_path):
    text = NOVELLA.read_text(encoding="utf-8")
    server.reply = '{"description": "周家的账房。", "first_mes": "客官里面请。"}'
    card = draft_card("周怀德", Scope.of({BOOK: 4}), library, chat_model(server, tmp_path))["data"]
    request = sent_text(server)
    assert CITED_SPAN.findall(request) and all(int(start) < FIFTH for start in CITED_SPAN.findall(request))
    assert card["extensions"]["novelchat"]["drafted_to"] <= 4
    for line in re.findall(r"\{\{char\}\}: (.+)", card["mes_example"]):
        assert 0 <= text.find(line) < FIFTH, f"{line!r} is said after chapter 4"
    whole = draft_card("周怀德", Scope.whole([BOOK]), library)["data"]
    assert whole["extensions"]["novelchat"]["drafted_to"] > 4


def test_a_card_drafted_past_the_readers_limit_is_not_shown_whole(library, server, tmp_path):
    card = draft_card("周怀德", Scope.whole([BOOK]), library)
    persona = parse_card(card)
    later = persona.drafted_to
    assert later > 4 and persona.first_mes and persona.mes_example
    early = Scope.of({BOOK: 4})
    assert greeting(persona, early) == "（周怀德看向你。）"  # its greeting is a line from a later chapter
    system = roleplay_messages(persona, "你好", [], [], 0, early)[0].content
    assert persona.first_mes.strip("“”") not in system and persona.mes_example.split(": ")[1] not in system
    assert greeting(persona, Scope.of({BOOK: later})) == persona.first_mes  # read far enough: the card whole
    hand_written = next(p for p in load_personas() if p.name == "林晓")
    assert hand_written.as_read_to(1) is hand_written  # an author's card is the author's to word
