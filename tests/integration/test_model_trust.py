"""A model never cites what it was not given, says so when the passages do not hold the answer, and its replies end:
the chains against the real indexes and a real OpenAI-compatible server (tests/fake_openai_server.py)."""

from __future__ import annotations

import pytest

from novelchat.answering.grounding import CITATION
from novelchat.answering.qa import answer_question
from novelchat.models import load_chat_model
from novelchat.retrieval.library import Library
from novelchat.retrieval.scope import Scope
from novelchat.roleplay.cards import parse_card
from novelchat.roleplay.chains import roleplay_reply
from tests.conftest import chat_model, make_settings
from tests.fake_openai_server import FakeOpenAIServer

GULL = "The Lamp at Gull Point"
MARTA = parse_card({"spec": "chara_card_v2", "data": {
    "name": "Marta Quill", "description": "Marta keeps the lighthouse on Gull Point.", "personality": "Plain-spoken.",
    "scenario": "", "first_mes": "Evening.", "mes_example": "", "extensions": {"novelchat": {"book": GULL}}}})
SAID_SO = "The book does not seem to say."


@pytest.fixture(scope="module")
def gull(gull_point_index) -> Library:
    return Library(gull_point_index)


def ask(server: FakeOpenAIServer, library: Library, question: str, book: str, tmp_path) -> tuple[str, int]:
    """The whole answer to ``question`` (as the page shows it and keeps it) and how many passages it was given."""
    turn = answer_question(question, library, chat_model(server, tmp_path), Scope.whole([book]), k=5)
    return "".join(turn.stream), len(turn.passages)


def test_citations_of_passages_the_model_was_not_given_never_reach_the_reader(gull, tmp_path):
    with FakeOpenAIServer(reply="The lighthouse has 112 steps [6][7]. Silas Quill built it [2] in 1871 [8].",
                          chunk_chars=3) as server:
        answer, k = ask(server, gull, "How many steps does the lighthouse have?", GULL, tmp_path)
    assert k == 5
    cited = [int(n) for n in CITATION.findall(answer)]
    assert cited and all(1 <= n <= k for n in cited), answer
    assert answer.startswith("The lighthouse has 112 steps. Silas Quill built it [2] in 1871."), answer


def test_the_prompt_follows_the_book_s_language_and_asks_for_not_in_the_book(gull, library, tmp_path):
    with FakeOpenAIServer(reply="Biscuit.") as server:
        ask(server, gull, "What is the dog called?", GULL, tmp_path)
        english = server.last_request["messages"][0]["content"]
        ask(server, library, "何伯的黄狗叫什么？", "青石镇的灯", tmp_path)
        chinese = server.last_request["messages"][0]["content"]
    assert english.startswith("You are NovelChat") and "the end of the book" in english
    assert f'reply only: "{SAID_SO}"' in english and "[1] to [5]" in english
    assert "就只回答“书中似乎没有提到这一点。”" in chinese and "[1] 到 [5]" in chinese and "全书结尾" in chinese


def test_a_model_saying_the_passages_lack_the_answer_is_shown_once_and_cited_nowhere(gull, tmp_path):
    with FakeOpenAIServer(reply=SAID_SO) as server:
        unanswerable, _ = ask(server, gull, "What is Marta's favourite colour?", GULL, tmp_path)
        answerable, _ = ask(server, gull, "How many steps does the lighthouse have?", GULL, tmp_path)
    assert unanswerable.count("does not seem to say") == 1 and not CITATION.search(unanswerable), unanswerable
    assert answerable == SAID_SO  # the model's word stands: no citation added to it


def test_server_replies_are_asked_not_to_repeat_and_stop_at_a_new_turn(tmp_path):
    with FakeOpenAIServer(reply="Aye, storms come.\nUser: and then?\nAssistant: more") as server:
        chat = chat_model(server, tmp_path)  # the defaults: the stop strings, no frequency penalty
        assert chat.invoke("Storms?").content == "Aye, storms come."
        sent = server.last_request
        assert "frequency_penalty" not in sent and "\nUser:" in sent["stop"]
        penalised = load_chat_model(make_settings(tmp_path, tmp_path, llm_base_url=server.base_url,
                                                  llm_model=server.model, llm_frequency_penalty=0.3, llm_stop=[]))
        penalised.invoke("Storms?")
        assert server.last_request["frequency_penalty"] == 0.3 and "stop" not in server.last_request


def test_a_roleplay_reply_ends_after_a_few_sentences(gull, tmp_path):
    rambling = " ".join(f"I keep the lamp, night {n}." for n in range(1, 40))
    with FakeOpenAIServer(reply=rambling, chunk_chars=5) as server:
        reply = "".join(roleplay_reply("Do you like it here?", MARTA, gull, chat_model(server, tmp_path),
                                       Scope.whole([GULL])).stream)
        asked = server.last_request["messages"][0]["content"]
    assert reply == "I keep the lamp, night 1. I keep the lamp, night 2. I keep the lamp, night 3. " \
                    "I keep the lamp, night 4."
    assert "at most 4 short sentences" in asked
