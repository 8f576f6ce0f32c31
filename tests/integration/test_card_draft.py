"""Drafting a persona card for any character of an indexed book, with and without a chat model."""

from __future__ import annotations

import json
import logging

import pytest
from langchain_core.language_models.fake_chat_models import FakeListChatModel
from langchain_core.runnables import RunnableLambda

from novelchat.errors import NovelChatError
from novelchat.models import load_chat_model
from novelchat.retrieval.scope import Scope
from novelchat.roleplay.card_draft import CardDraftError, _drafted_fields, draft_card, save_card
from novelchat.roleplay.cards import load_personas
from tests.conftest import NOVELLA, ROOT, make_settings
from tests.fake_openai_server import FakeOpenAIServer

BOOK = "青石镇的灯"
WHOLE = Scope.whole([BOOK])


def test_without_a_model_the_card_is_made_of_the_characters_own_lines(library, tmp_path):
    card = draft_card(" 何伯 ", WHOLE, library)
    data = card["data"]
    assert card["spec"] == "chara_card_v2" and data["name"] == "何伯"
    assert data["extensions"]["novelchat"]["book"] == BOOK
    text = NOVELLA.read_text(encoding="utf-8")
    examples = [line.split(": ", 1)[1] for line in data["mes_example"].splitlines() if line.startswith("{{char}}")]
    assert examples and all(line in text for line in examples)  # what he really says in the book
    assert data["first_mes"].strip("“”") in text

    path = save_card(card, tmp_path)
    assert path.name == "何伯_青石镇的灯.json"
    (persona,) = load_personas(tmp_path)
    assert persona.name == "何伯" and persona.book == BOOK
    with pytest.raises(CardDraftError, match="exists"):
        save_card(card, tmp_path)  # a reader's card is never overwritten
    assert json.loads(path.read_text(encoding="utf-8")) == card


@pytest.mark.parametrize(("name", "canonical"), [("沈墨舟", "沈墨舟"), ("何伯", "何长庚"), ("林晓", "林晓")])
def test_the_cards_examples_and_greeting_are_only_the_characters_own_lines(library, name, canonical):
    """Checked against the hand-labelled speakers of every quote in the novella (tests/data/speakers_novella.jsonl)."""
    labels = [json.loads(line) for line in (ROOT / "tests" / "data" / "speakers_novella.jsonl").read_text(
        encoding="utf-8").splitlines()]
    speaker_of = {label["quote"]: label["speaker"] for label in labels}
    data = draft_card(name, WHOLE, library)["data"]
    examples = [line.split(": ", 1)[1] for line in data["mes_example"].splitlines() if line.startswith("{{char}}")]
    assert examples and all(speaker_of[line] == canonical for line in [*examples, data["first_mes"].strip("“”")])


def test_unknown_or_empty_names_are_one_friendly_line(library):
    with pytest.raises(CardDraftError, match="诸葛亮"):
        draft_card("诸葛亮", WHOLE, library)
    with pytest.raises(CardDraftError, match="name"):
        draft_card("  ", WHOLE, library)


def test_a_chat_model_drafts_the_rest_and_a_useless_answer_falls_back_to_the_book(library, tmp_path):
    drafted = {"description": "青石镇的老艄公，撑了一辈子渡船。", "personality": "沉稳寡言，心善。",
               "scenario": "渡口的黄昏。", "first_mes": "上船吧，天要黑了。", "speech_rules": ["称林晓为丫头", "话少"]}
    answer = "好的，人物卡如下：\n" + json.dumps(drafted, ensure_ascii=False) + "\n以上。"
    with FakeOpenAIServer(reply=answer) as server:
        llm = load_chat_model(make_settings(tmp_path, tmp_path, llm_base_url=server.base_url, llm_model=server.model,
                                            llm_timeout=5))
        data = draft_card("何伯", WHOLE, library, llm)["data"]
        request = server.last_request["messages"][-1]["content"]
        assert "何伯" in request and "JSON" in request and "“" in request  # his lines go to the model
        assert data["description"] == drafted["description"] and data["first_mes"] == "上船吧，天要黑了。"
        assert data["extensions"]["novelchat"]["speech_rules"] == ["称林晓为丫头", "话少"]

        server.reply = "我不知道。"
        fallback = draft_card("何伯", WHOLE, library, llm)["data"]
        assert fallback["description"] == f"《{BOOK}》中的人物何伯。" and fallback["first_mes"].startswith("“")


def timed_out(_messages) -> str:
    raise TimeoutError("no answer in 5 s")


@pytest.mark.parametrize(
    ("model", "reason"),
    [(FakeListChatModel(responses=["我不知道。"]), "not a JSON object ('我不知道。')"),
     (FakeListChatModel(responses=['{"description": "半截']), "not a JSON object"),
     (FakeListChatModel(responses=['["一", "二"]']), "not a JSON object"),
     (RunnableLambda(timed_out), "TimeoutError: no answer in 5 s")],
    ids=["prose", "cut-json", "json-list", "backend-fails"],
)
def test_an_unusable_draft_is_logged_with_the_reason(model, reason, caplog):
    with caplog.at_level(logging.WARNING, logger="novelchat.roleplay.card_draft"):
        assert _drafted_fields("何伯", BOOK, ["上船吧。"], [], model) == {}
    (record,) = caplog.records
    assert "何伯" in record.getMessage() and reason in record.getMessage()


def broken(_messages) -> str:
    raise KeyError("a bug in the backend")


def unavailable(_messages) -> str:
    raise NovelChatError("对话模型不可用 / the chat model is unavailable", detail="connection refused")


def test_a_failing_chat_model_is_logged_with_its_traceback_and_the_card_is_still_made(library, caplog):
    with caplog.at_level(logging.WARNING, logger="novelchat.roleplay.card_draft"):
        data = draft_card("何伯", WHOLE, library, RunnableLambda(broken))["data"]
    assert data["description"] == f"《{BOOK}》中的人物何伯。" and data["first_mes"].startswith("“")
    (record,) = caplog.records
    assert record.levelno == logging.ERROR and record.exc_info and record.exc_info[0] is KeyError
    assert "何伯" in record.getMessage()


def test_an_unavailable_chat_model_is_one_friendly_warning_and_the_card_is_still_made(library, caplog):
    with caplog.at_level(logging.WARNING, logger="novelchat.roleplay.card_draft"):
        data = draft_card("何伯", WHOLE, library, RunnableLambda(unavailable))["data"]
    assert data["description"] == f"《{BOOK}》中的人物何伯。"
    (record,) = caplog.records
    assert record.levelno == logging.WARNING and not record.exc_info
    assert "the chat model is unavailable" in record.getMessage() and "connection refused" not in record.getMessage()
