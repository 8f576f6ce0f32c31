"""The cast of a book from its text alone: every name a character goes by, grouped, counted per chapter, cut at
the reader's chapter; merges with doubt shown, never made."""

from __future__ import annotations

import json

import pytest

from novelchat.books.novel import read_novel
from novelchat.roleplay.book_cast import other_names, with_cast_names
from novelchat.roleplay.cards import Persona
from novelchat.roleplay.cast import Cast, cast_of
from novelchat.roleplay.grouping import group
from novelchat.roleplay.name_forms import form
from novelchat.roleplay.speakers import attribute, lines_of
from novelchat.ui.transcript import transcript_markdown
from tests.conftest import NOVELLA, SHARED_DATA

PERSUASION = SHARED_DATA / "en" / "persuasion.txt"


def cast_of_file(path) -> tuple[str, Cast]:
    novel = read_novel(path, 64 << 20)
    return novel.text, cast_of(novel.text, [(c.start, c.number) for c in novel.chapters])


@pytest.fixture(scope="module")
def novella() -> tuple[str, Cast]:
    return cast_of_file(NOVELLA)


def test_names_are_taken_apart():
    assert (form("钱掌柜").family, form("钱掌柜").role) == ("钱", "掌柜")
    assert form("钱满仓").full and not form("行者").family and form("老何").family == "何"
    assert (form("Captain Wentworth").family, form("Sir Walter").given, form("Anne Elliot").full) == (
        "Wentworth", "Walter", True)


def test_a_role_form_joins_the_one_full_name_of_its_surname_unless_they_talk():
    lines = {"钱满仓": {1: 0}, "钱掌柜": {1: 8}, "孙悟空": {1: 1}, "孙行者": {1: 5}, "行者": {1: 90}}
    groups, doubts = group(lines, [], {})
    assert sorted(map(sorted, groups)) == [["孙悟空", "孙行者", "行者"], ["钱掌柜", "钱满仓"]] and not doubts
    talking, doubts = group({"唐王": {1: 10}, "唐三藏": {1: 10}}, [], {})
    assert len(talking) == 2  # two full names: nothing to join
    apart, doubts = group({"林师傅": {1: 4}, "林晓": {1: 40}, "林守拙": {1: 9}}, [], {})
    assert ["林师傅"] in apart and ("林师傅", "林晓") in doubts and ("林师傅", "林守拙") in doubts
    vetoed, doubts = group({"钱满仓": {1: 5}, "钱掌柜": {1: 5}}, [], {("钱掌柜", "钱满仓"): 5})
    assert len(vetoed) == 2  # they talk to each other: two people


def test_the_novellas_innkeeper_is_one_character_under_both_names(novella):
    text, cast = novella
    innkeeper = cast.find("钱满仓")
    assert innkeeper is not None and {"钱满仓", "钱掌柜"} <= set(innkeeper.names)
    assert cast.find("钱掌柜") is innkeeper and innkeeper.count("钱掌柜") >= 5
    persona = with_cast_names(Persona(name="钱满仓", book="青石镇的灯"), cast)
    labels = [json.loads(line) for line in (NOVELLA.parent.parent / "tests" / "data" / "speakers_novella.jsonl")
              .read_text(encoding="utf-8").splitlines()]
    his = {row["quote"] for row in labels if row["speaker"] == "钱满仓"}
    found = lines_of(text, persona.names, other_names(cast, persona))
    assert len(found) >= 5 and set(found) <= his  # before: one line of about six, the rest tagged 钱掌柜


def test_a_cards_own_aliases_win():
    card = Persona(name="何长庚", aliases=["何伯"])
    cast = Cast((), ())
    assert with_cast_names(card, cast).aliases == ["何伯"]


def test_the_cast_never_shows_past_the_readers_chapter(novella):
    _, cast = novella
    first = cast.within(1)
    assert all(max(c.per_chapter()) <= 1 for c in first.characters)
    assert all(max(counts) <= 1 for counts in first.talks.values())
    later = {c.name for c in cast.characters} - {c.name for c in first.characters}
    assert later  # someone speaks only after chapter 1
    assert Cast.from_json(json.loads(json.dumps(cast.to_json()))) == cast


@pytest.mark.skipif(not PERSUASION.is_file(), reason="../shared/data/en/persuasion.txt is not here")
def test_anne_elliot_has_lines_in_persuasion():
    text, cast = cast_of_file(PERSUASION)
    anne = cast.find("Anne Elliot")
    assert anne is not None and "Anne" in anne.names
    persona = with_cast_names(Persona(name="Anne Elliot", book="Persuasion"), cast)
    assert len([q for q in attribute(text, [persona.names, *other_names(cast, persona)])
                if q.speaker == "Anne Elliot"]) >= 20  # before: none ("said Anne" was not her name)


def test_the_transcript_quotes_each_passage_once_and_says_how_far_the_reader_had_read():
    passage = ("第一章", "何伯把马灯举高。\n“没瞧见。”")
    turns = [("读者", "问一", []), ("书聊", "答一 [1]", [passage]),
             ("读者", "问二", []), ("书聊", "答二 [1]", [passage])]
    markdown = transcript_markdown("书聊", turns, "第 3 章")
    assert markdown.count("何伯把马灯举高") == 1 and markdown.count("[1] 第一章") == 2
    assert "第 3 章" in markdown
