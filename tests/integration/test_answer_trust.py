"""Retrieval-only replies on the novella's real index: a clear question gets its answer sentence first; a question
the book does not answer gets the related passages, said to be only that, with no sentence presented as the answer."""

from __future__ import annotations

from novelchat.answering.qa import PASSAGES_ONLY, answer_question
from novelchat.retrieval.library import Library


def reply(library: Library, question: str) -> tuple[str, str | None]:
    turn = answer_question(question, library, None, library.scope_of_all())
    return "".join(turn.stream), turn.spoken


def test_a_clear_question_gets_the_answer_sentence_first(library):
    text, spoken = reply(library, "案子是哪天在安平县衙审结的？")
    opening = text.split("\n\n")[0]
    assert opening.startswith("（仅检索模式）") and "十月初五" in opening and opening.endswith("]")
    assert "十月初五" in spoken and PASSAGES_ONLY[0] not in text


def test_a_question_the_book_does_not_answer_gets_only_the_related_passages(library):
    text, spoken = reply(library, "林晓最喜欢吃什么水果？")
    opening, *passages = text.split("\n\n")
    assert opening.startswith("（仅检索模式）") and opening.endswith(PASSAGES_ONLY[0])
    assert passages and all(p.startswith(f"[{n}] 《青石镇的灯》") for n, p in enumerate(passages, 1))
    assert "最接近" not in text and "。 [" not in opening  # no sentence shown, cited, as the answer
    assert spoken == PASSAGES_ONLY[0].rstrip("：") and "没有提到" not in text
