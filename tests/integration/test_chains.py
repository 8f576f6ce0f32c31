"""Chains against the novella's real index and a real OpenAI-compatible server: QA, role-play, greeting."""

from __future__ import annotations

import json
import logging

import pytest
from langchain_core.messages import AIMessage, HumanMessage
from langchain_core.runnables import RunnableLambda

from novelchat.answering.grounding import CITATION
from novelchat.answering.qa import SNIPPET_CHARS, answer_question, snippet
from novelchat.answering.turn import approx_tokens, trim_history
from novelchat.errors import NovelChatError
from novelchat.models import load_chat_model
from novelchat.retrieval.evaluate import squash
from novelchat.retrieval.passages import Passage
from novelchat.retrieval.scope import Scope
from novelchat.roleplay.cards import CHARACTERS_DIR, load_personas, parse_card
from novelchat.roleplay.chains import character_lines, greeting, roleplay_messages, roleplay_reply
from tests.conftest import ROOT, chat_model, make_settings, write_png_card
from tests.fake_openai_server import FakeOpenAIServer

QA_FILE = ROOT / "tests" / "data" / "novella_qa.jsonl"
NO_BOOK = Scope(())  # a card with no book: nothing to read


@pytest.fixture
def server():
    with FakeOpenAIServer(reply="望河楼的灯是九月十三那夜灭的 [2]，林守拙也在那夜不见了 [1]。") as running:
        yield running


def lin_xiao():
    return next(p for p in load_personas() if p.name == "林晓")


def test_qa_prompt_carries_numbered_passages_and_the_spoiler_limit(library, server, tmp_path):
    turn = answer_question("望河楼的灯是哪天灭的？", library, chat_model(server, tmp_path),
                           Scope.of({"青石镇的灯": 3}), k=4)
    answer = "".join(turn.stream)
    assert answer == server.reply
    system = server.last_request["messages"][0]["content"]
    assert "第 3 章" in system and "不要编造" in system and "【目标 Objective】" in system
    for number, passage in enumerate(turn.passages, 1):
        assert f"[{number}] {passage.citation}" in system and passage.chapter <= 3
    assert server.last_request["messages"][-1] == {"role": "user", "content": "望河楼的灯是哪天灭的？"}
    assert CITATION.findall(answer) == ["2", "1"]


def test_no_model_means_retrieval_only_with_citations(library):
    turn = answer_question("何伯的黄狗叫什么？", library, None, Scope.whole(["青石镇的灯"]), k=3)
    text = "".join(turn.stream)
    assert text.startswith("（仅检索模式）")
    assert all(f"[{n}] {p.citation}" in text for n, p in enumerate(turn.passages, 1))
    assert "锅巴" in text  # each passage is shown where the question's words are, not just its opening


def test_retrieval_only_replies_show_the_answer_for_most_questions(library):
    questions = [json.loads(line) for line in QA_FILE.read_text(encoding="utf-8").splitlines()]
    shown = 0
    for item in questions:
        text = squash("".join(answer_question(item["question"], library, None, Scope.whole(["青石镇的灯"])).stream))
        shown += any(squash(answer) in text for answer in item["answers"])
    assert shown / len(questions) >= 0.8  # 73/83 here; the passages' first 120 characters showed 19/83


def test_a_snippet_is_cut_around_the_question_words():
    text = "开头的闲话。" * 40 + "何伯船上那条黄狗叫锅巴，见了生人只抬抬头。" + "结尾的闲话。" * 40
    cut = snippet(text, "何伯的黄狗叫什么？")
    assert "黄狗叫锅巴" in cut and cut.startswith("…") and cut.endswith("…") and len(cut) <= SNIPPET_CHARS + 2
    assert snippet("短短一段。", "黄狗") == "短短一段。"
    assert snippet(text, "完全无关") == text[:SNIPPET_CHARS] + "…"


def test_backend_down_ends_the_reply_with_one_friendly_line(library, tmp_path):
    dead = load_chat_model(make_settings(tmp_path, tmp_path, llm_base_url="http://127.0.0.1:9/v1",
                                         llm_model="x", llm_timeout=2))
    text = "".join(answer_question("灯", library, dead, Scope.whole(["青石镇的灯"]), k=2).stream)
    assert text.startswith("\n\n⚠️") and "Traceback" not in text and text.count("\n") == 2


def failing(error: Exception) -> RunnableLambda:
    """A chat model that fails with ``error`` when asked."""

    def fail(_prompt):
        raise error

    return RunnableLambda(fail)


def test_a_bug_in_the_reply_is_logged_with_its_traceback_and_shown_as_one_line(library, caplog):
    """Before, any error became a chat line and nothing was logged."""
    with caplog.at_level(logging.INFO):
        text = "".join(answer_question("灯", library, failing(KeyError("passages")), Scope.whole(["青石镇的灯"]), k=2)
                       .stream)
    assert text.startswith("\n\n⚠️") and "Traceback" not in text and text.count("\n") == 2
    (record,) = [r for r in caplog.records if r.exc_info]
    assert record.levelno >= logging.ERROR and isinstance(record.exc_info[1], KeyError)


def test_a_novelchat_error_in_the_reply_shows_its_friendly_line_unlogged(library, caplog):
    error = NovelChatError("模型还没准备好 / the model is not ready", detail="still loading")
    with caplog.at_level(logging.INFO):
        text = "".join(answer_question("灯", library, failing(error), Scope.whole(["青石镇的灯"]), k=2).stream)
    assert text == "\n\n⚠️ 模型还没准备好 / the model is not ready"
    assert not [record for record in caplog.records if record.levelno >= logging.WARNING]


def test_roleplay_prompt_has_persona_rules_lines_and_trimmed_history(library, server, tmp_path):
    persona = lin_xiao()
    long_ago = [HumanMessage("很久以前的问题" * 200), AIMessage("很久以前的回答" * 200)]
    recent = [HumanMessage("你爹是做什么的？"), AIMessage("糊灯的，全镇的灯都是他糊的。")]
    turn = roleplay_reply("那盏红灯是怎么做的？", persona, library, chat_model(server, tmp_path),
                          Scope.of({"青石镇的灯": 8}), history=long_ago + recent, history_budget=200)
    assert "".join(turn.stream) == server.reply
    messages = server.last_request["messages"]
    system = messages[0]["content"]
    assert "你现在就是林晓" in system and persona.personality in system
    assert all(rule in system for rule in persona.speech_rules)
    lines_block = system.split("说过的话")[1]
    assert lines_block.count("“") >= 1, "the character's own lines from the book are in the prompt"
    assert [m["content"] for m in messages[1:]] == [
        "你爹是做什么的？", "糊灯的，全镇的灯都是他糊的。", "那盏红灯是怎么做的？",
    ]


def test_character_lines_are_the_characters_own(library):
    persona = lin_xiao()
    messages = roleplay_messages(persona, "你好", ["灯是我糊的"], [], 0, Scope.whole(["青石镇的灯"]))
    assert "- “灯是我糊的”" in messages[0].content
    turn = roleplay_reply("你爹在哪儿", persona, library, None, Scope.whole(["青石镇的灯"]))
    text = "".join(turn.stream)
    assert text.startswith("（仅检索模式）林晓在书中说过：“")


def test_a_cards_lorebook_system_prompt_and_post_history_instructions_are_honoured():
    card = {"spec": "chara_card_v2", "data": {
        "name": "白狼", "description": "北地的狼神", "system_prompt": "你在写一部小说。{{original}}",
        "post_history_instructions": "{{char}}从不承认自己饿了。",
        "character_book": {"entries": [
            {"keys": ["麦田", "Wheat"], "content": "麦田丰收全靠{{char}}的庇佑。", "insertion_order": 2},
            {"keys": ["约伊兹"], "content": "约伊兹是{{char}}的故乡。", "enabled": True, "insertion_order": 1},
            {"keys": [], "content": "{{char}}的尾巴是她的骄傲。", "constant": True, "insertion_order": 0},
            {"keys": ["麦田"], "content": "这条被关掉了。", "enabled": False},
        ]},
    }}
    persona = parse_card(card)
    history = [HumanMessage("你从约伊兹来？")]
    body = roleplay_messages(persona, "今年的wheat怎么样？", [], history, 100, NO_BOOK)[0].content
    assert body.startswith("你在写一部小说。你现在就是白狼")  # the card's system prompt wraps NovelChat's
    lore = body.split("世界书）】")[1]
    assert lore.index("尾巴") < lore.index("约伊兹是") < lore.index("麦田丰收")  # by insertion order
    assert "关掉" not in body and body.rstrip().endswith("白狼从不承认自己饿了。")
    quiet = roleplay_messages(persona, "你好", [], [], 0, NO_BOOK)[0].content
    assert "尾巴" in quiet and "麦田丰收" not in quiet and "约伊兹是" not in quiet  # only what is mentioned


def test_character_lines_in_corner_brackets_and_straight_quotes():
    passages = [Passage("b", "书", 1, "第一章", 0, 0, "郭靖道：「蓉儿，咱们回家罢。」黄蓉笑道：「好啊。」"),
                Passage("b", "Tales", 1, "I", 0, 0, 'Then said the brother, "Sister, I am thirsty." She wept.')]
    assert character_lines(passages, parse_card({"name": "郭靖"})) == ["蓉儿，咱们回家罢。"]
    assert character_lines(passages, parse_card({"name": "黄蓉"})) == ["好啊。"]
    assert character_lines(passages, parse_card({"name": "brother"})) == ["Sister, I am thirsty."]


def test_character_lines_leave_out_other_peoples_words():
    """“那可不！”钱掌柜一拍大腿 — the tag comes after the quote: 钱满仓's line, though 沈墨舟 is named just before."""
    text = ROOT.joinpath("corpus", "青石镇的灯.txt").read_text(encoding="utf-8")
    start = text.index("“周老爷是个善人。”")
    passage = Passage("b", "青石镇的灯", 2, "第二章", start, start + 200, text[start: start + 200])
    shen = next(p for p in load_personas() if p.name == "沈墨舟")
    assert character_lines([passage], shen) == ["周老爷是个善人。"]
    wu_song = Passage("b", "书", 1, "一", 0, 0, "那妇人拿盏酒，看着武松道：“叔叔，满饮此杯。”武松道：“嫂嫂自便。”")
    assert character_lines([wu_song], parse_card({"name": "武松"})) == ["嫂嫂自便。"]


def test_history_trimming_keeps_the_latest_turns_within_budget():
    history = [HumanMessage(f"问题{i}" * 20) if i % 2 == 0 else AIMessage(f"回答{i}" * 20) for i in range(20)]
    kept = trim_history(history, 300)
    assert kept and kept == history[-len(kept):] and isinstance(kept[0], HumanMessage)
    assert approx_tokens(kept) <= 300 < approx_tokens(history)
    assert trim_history(history, 0) == []


def test_greetings(server, tmp_path):
    persona = lin_xiao()
    assert greeting(persona, Scope.whole(["青石镇的灯"])) == persona.first_mes
    assert "《青石镇的灯》" in greeting(None, Scope.whole(["青石镇的灯"]))
    blank = parse_card({"name": "无名氏", "description": "一个过客"})
    server.reply = "来者何人？"
    assert greeting(blank, NO_BOOK, chat_model(server, tmp_path)) == "来者何人？"
    assert "主动开口" in server.last_request["messages"][-1]["content"]
    assert greeting(blank, NO_BOOK) == "（无名氏看向你。）"
    never_empty = "".join(roleplay_reply("你好", blank, None, None, NO_BOOK).stream)
    assert never_empty == "（无名氏看向你。）"


def test_cards_follow_character_card_v2():
    personas = load_personas()
    assert {"林晓", "白霜"} <= {p.name for p in personas} and len(personas) >= 4
    for path in CHARACTERS_DIR.glob("*.json"):
        raw = json.loads(path.read_text(encoding="utf-8"))
        assert raw["spec"] == "chara_card_v2"
        assert {"name", "description", "personality", "scenario", "first_mes", "mes_example"} <= set(raw["data"])
    fox = next(p for p in personas if p.name == "白霜")
    assert any("咱" in rule and "汝" in rule for rule in fox.speech_rules)
    assert fox.translate["substitutions"] == {"咱": "わっち", "汝": "ぬし"}
    v1 = parse_card({"name": "Alice", "first_mes": "Hi {{user}}, I'm {{char}}."})
    assert v1.fill(v1.first_mes, "Bob") == "Hi Bob, I'm Alice."


def test_png_cards_from_sillytavern_are_read_and_bring_their_picture(tmp_path, caplog):
    fox = json.loads((CHARACTERS_DIR / "bai_shuang.json").read_text(encoding="utf-8"))
    write_png_card(tmp_path / "fox.png", fox)
    write_png_card(tmp_path / "v3.png", {"spec": "chara_card_v3", "data": {"name": "Seraphina", "first_mes": "Hi"}},
                   chunk="ccv3")
    write_png_card(tmp_path / "plain.png", None)  # just a picture
    (tmp_path / "broken.png").write_bytes(b"not a png")
    (tmp_path / "lin.json").write_text((CHARACTERS_DIR / "lin_xiao.json").read_text(encoding="utf-8"),
                                       encoding="utf-8")
    personas = {p.name: p for p in load_personas(tmp_path)}
    assert set(personas) == {"白霜", "Seraphina", "林晓"}
    assert personas["白霜"].avatar == str(tmp_path / "fox.png") and personas["林晓"].avatar == ""
    assert personas["白霜"].speech_rules == parse_card(fox).speech_rules and personas["Seraphina"].first_mes == "Hi"
    skipped = " ".join(record.getMessage() for record in caplog.records)
    assert "plain.png" in skipped and "broken.png" in skipped


def test_a_greeting_the_model_fails_to_write_is_logged_and_the_card_speaks(caplog):
    def broken_backend(_messages):
        raise ConnectionError("the model server went away")

    blank = parse_card({"name": "无名氏", "description": "一个过客"})
    with caplog.at_level(logging.WARNING, logger="novelchat.roleplay.chains"):
        assert greeting(blank, NO_BOOK, RunnableLambda(broken_backend)) == "（无名氏看向你。）"
    (record,) = caplog.records
    assert "无名氏" in record.getMessage() and "ConnectionError: the model server went away" in record.getMessage()
    assert record.levelno == logging.WARNING and not record.exc_info  # a known cause: one line


def test_a_greeting_that_fails_with_a_bug_logs_its_traceback(caplog):
    blank = parse_card({"name": "无名氏", "description": "一个过客"})
    with caplog.at_level(logging.WARNING, logger="novelchat.roleplay.chains"):
        assert greeting(blank, NO_BOOK, failing(TypeError("not a string"))) == "（无名氏看向你。）"
    (record,) = caplog.records
    assert record.levelno == logging.ERROR and isinstance(record.exc_info[1], TypeError)
