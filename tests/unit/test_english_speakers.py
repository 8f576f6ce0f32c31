"""English books are first-class in speaker attribution: "said Anne", "Anne replied", "cried Mrs. Smith", a split
quote, a tag before the quote, and hard-wrapped (Project Gutenberg) paragraphs; and a book's language."""

from __future__ import annotations

import pytest

from novelchat.roleplay.speakers import attribute, lines_of
from novelchat.text.language import cjk_share, language_of, unwrapped
from tests.conftest import shared_file

ANNE = ["Anne Elliot", "Anne", "Miss Elliot"]
SMITH = ["Mrs. Smith", "Mrs Smith"]
CAST = [ANNE, SMITH, ["Mary"]]


def speakers(text: str, cast: list[list[str]] = CAST) -> list[tuple[str, str | None]]:
    return [(q.text, q.speaker) for q in attribute(text, cast)]


@pytest.mark.parametrize(("text", "speaker"), [
    ('"The garden is cold tonight," said Anne.', "Anne Elliot"),
    ('"The garden is cold tonight," Anne replied.', "Anne Elliot"),
    ('"The garden is cold tonight," replied Anne, without looking up.', "Anne Elliot"),
    ('"The garden is cold tonight," Anne said quietly.', "Anne Elliot"),
    ('"The garden is cold tonight!" cried Mrs. Smith.', "Mrs. Smith"),
    ('"The garden is cold tonight," observed Miss Elliot.', "Anne Elliot"),
    ('"The garden is cold tonight," Mrs Smith answered.', "Mrs. Smith"),
    ('Anne turned from the window and said, "The garden is cold tonight."', "Anne Elliot"),
    ('Mrs. Smith, after a pause, replied: "The garden is cold tonight."', "Mrs. Smith"),
])
def test_an_english_tag_names_the_speaker(text, speaker):
    [(words, who)] = speakers(text)
    assert words.startswith("The garden is cold tonight") and who == speaker


def test_a_quote_split_by_its_tag_is_one_speakers():
    text = '"I think," said Anne, "that we should walk home." "Yes," said Mary. "It is late."'
    assert [who for _, who in speakers(text)] == ["Anne Elliot", "Anne Elliot", "Mary", "Mary"]


@pytest.mark.parametrize("text", [
    '"Will you come?" said Mary to Anne.',  # Anne is spoken to
    '"Will you come?" said Anne\'s father.',  # Anne is his daughter, not the speaker
    '"Will you come?" she said.',  # a pronoun: not guessed
    'Anne said nothing. "Will you come?"',  # she said nothing: the quote is someone else's
    'Anne said what was proper, and asked after the children. "Will you come?"',
])
def test_no_line_for_anne_where_she_does_not_speak(text):
    assert lines_of(text, ANNE) == []


def test_hard_wrapped_paragraphs_are_read_whole():
    text = ('"I have not the smallest objection on that account," replied\n'
            'Anne, "though I should never think of asking it of her myself,\n'
            'for she is a very good sort of woman, and a great friend of\n'
            'Lady Russell\'s."\n\n'
            '"Well, you will soon be better now," said Mrs. Smith, and\n'
            'she laughed a little as she went to the door.\n')
    said = speakers(text)
    assert [who for _, who in said] == ["Anne Elliot", "Anne Elliot", "Mrs. Smith"]
    assert said[1][0].startswith("though I should never think of asking it of her myself, for she")


def test_unwrapping_keeps_offsets_and_leaves_other_texts_alone():
    wrapped = "A line of a paragraph that was wrapped\nat seventy columns or so by\nits printer.\n\nNext one.\n"
    assert unwrapped(wrapped) == wrapped.replace("\n", " ", 2)
    assert len(unwrapped(wrapped)) == len(wrapped)
    one_line_each = "A paragraph on one line, as long as the writer likes it to be. " * 3 + "\nAnother.\nA third.\n"
    assert unwrapped(one_line_each) == one_line_each
    chinese = "林晓把灯提高了一点，\n照着河面。\n何伯没有说话。\n"
    assert unwrapped(chinese) == chinese


@pytest.mark.parametrize(("text", "language"), [
    ("It was a truth universally acknowledged, that the lamp was lit.", "en"),
    ("林晓把灯提高了一点，照着河面。", "zh"),
    ("The Project Gutenberg eBook of 西游记\n" + "悟空道：“师父，前面有山。”" * 50, "zh"),
    ("Chapter 1\n\nAnne met 林晓 once, on the road to Lyme, and they talked of lamps.", "en"),
    ("", "en"),
])
def test_a_texts_language_is_read_from_its_share_of_cjk_characters(text, language):
    assert language_of(text) == language


def test_cjk_share_counts_letters_only():
    assert cjk_share("林晓 said 1234567890 !!!") == pytest.approx(2 / 6)
    assert cjk_share("12345") == 0.0


def test_anne_elliot_has_her_lines_in_persuasion():
    text = shared_file("en/persuasion.txt").read_text(encoding="utf-8")
    lines = lines_of(text, ANNE)
    assert len(lines) >= 60  # quotes run over the book's line ends: read a line at a time, 36 were found
    assert any(line.startswith("There is hardly any personal defect") for line in lines)
