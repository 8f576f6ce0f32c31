"""A character found from a typed name alone, under every name the book uses: fine-tune data, card drafting."""

from __future__ import annotations

import json
import os

import pytest
from langchain_core.messages import AIMessage
from langchain_core.runnables import RunnableLambda

from novelchat.books.novel import read_novel
from novelchat.cli import finetune as finetune_cli
from novelchat.finetune import data as finetune_data
from novelchat.retrieval.library import Library
from novelchat.retrieval.scope import Scope
from novelchat.roleplay.card_draft import draft_card
from novelchat.roleplay.cards import Persona
from novelchat.roleplay.cast import cast_of
from novelchat.roleplay.chains import roleplay_reply
from novelchat.text.hanzi import is_chinese
from tests.conftest import ROOT, SHARED_DATA

XIYOUJI = SHARED_DATA / "zh" / "西游记.txt"


def labelled(book: str) -> dict[str, set[str | None]]:
    """Each labelled quote's words → who says it (tests/data/speakers_<book>.jsonl)."""
    speakers: dict[str, set[str | None]] = {}
    for line in (ROOT / "tests" / "data" / f"speakers_{book}.jsonl").read_text(encoding="utf-8").splitlines():
        row = json.loads(line)
        speakers.setdefault(row["quote"], set()).add(row["speaker"])
    return speakers


@pytest.mark.skipif(not XIYOUJI.is_file(), reason="../shared/data/zh/西游记.txt is not here")
def test_sun_wukong_from_his_name_alone_yields_hundreds_of_his_own_lines(tmp_path):
    """Before: one example, a demon's line. The book calls him 行者, 大圣, 悟空… far more often than 孙悟空."""
    novel = read_novel(XIYOUJI, 64 << 20)
    cast = cast_of(novel.text, [(c.start, c.number) for c in novel.chapters])
    persona, others = finetune_data.find_cast("孙悟空", "西游记", tmp_path, cast)
    examples = finetune_data.dialogue_examples(novel.text, persona, "system", others)
    assert len(examples) >= 300
    speaker_of = labelled("xiyouji")
    judged = [speaker_of[e[-1]["content"]] for e in examples if e[-1]["content"] in speaker_of]
    right = sum(speakers == {"孙悟空"} for speakers in judged)
    assert len(judged) >= 20 and right / len(judged) >= 0.95, (right, len(judged))


def test_qian_mancangs_card_holds_his_lines_tagged_qian_zhanggui(library):
    """Before: one example line out of about six (the rest are tagged 钱掌柜)."""
    data = draft_card("钱满仓", Scope.whole(["青石镇的灯"]), library)["data"]
    examples = [line.split(": ", 1)[1] for line in data["mes_example"].splitlines() if line.startswith("{{char}}")]
    speaker_of = labelled("novella")
    assert len(examples) >= 3 and all(speaker_of[line] == {"钱满仓"} for line in examples)
    assert "钱掌柜" in data["extensions"]["novelchat"]["aliases"]


def test_a_card_drafted_for_an_english_character_is_written_in_english(gull_point_index):
    """Before: 《…》中的人物Marta Quill。, and the model was asked in Chinese."""
    library = Library(gull_point_index)
    title = library.books()[0].title
    card = draft_card("Marta Quill", Scope.whole([title]), library)["data"]
    assert card["description"].isascii() and card["scenario"].isascii()
    asked: list[str] = []

    def model(messages) -> AIMessage:
        asked.append(str(messages[-1].content))
        return AIMessage('{"description": "The keeper of the lighthouse.", "personality": "Plain."}')

    drafted = draft_card("Marta Quill", Scope.whole([title]), library, RunnableLambda(model))["data"]
    assert drafted["description"] == "The keeper of the lighthouse." and drafted["scenario"].isascii()
    assert "in English" in asked[0] and not is_chinese(asked[0].split("Passages:")[0])


def export(settings, *extra: str) -> int:
    os.environ["NOVELCHAT_PERSIST_DIR"] = str(settings.persist_dir)
    try:
        return finetune_cli.main(["data", "--book", "青石镇的灯", *extra])
    finally:
        del os.environ["NOVELCHAT_PERSIST_DIR"]


def test_fine_tune_data_counts_each_name_and_refuses_too_few_lines(novella_index, tmp_path, capsys):
    out = tmp_path / "qian.jsonl"
    assert export(novella_index, "--character", "钱满仓", "-o", str(out)) == 1
    printed = capsys.readouterr()
    assert "钱掌柜" in printed.out and not out.exists()
    assert len([line for line in printed.err.splitlines() if line.strip()]) == 1 and "--min-lines" in printed.err
    assert export(novella_index, "--character", "钱满仓", "--min-lines", "3", "-o", str(out)) == 0
    replies = [json.loads(line)["messages"][-1]["content"] for line in out.read_text(encoding="utf-8").splitlines()]
    speaker_of = labelled("novella")
    assert len(replies) >= 5 and all(speaker_of[reply] == {"钱满仓"} for reply in replies)


def test_roleplay_with_a_card_that_lists_no_aliases_speaks_the_lines_the_book_tags_by_another_name(library):
    """A hand-written card for 钱满仓 names no aliases: his lines tagged 钱掌柜 are his in role-play too (the book's
    cast gives the names), and the card itself is left as written."""
    card = Persona(name="钱满仓", book="青石镇的灯", first_mes="客官里边请！")
    turn = roleplay_reply("天字号的房间还有吗？一晚多少钱？", card, library, None, Scope.whole(["青石镇的灯"]))
    reply = "".join(turn.stream)
    assert "钱满仓在书中说过" in reply and "天字三号房" in reply, reply
    assert card.aliases == []
