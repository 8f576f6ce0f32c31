"""grounding.py: the citations NovelChat appends when a model writes none."""

from __future__ import annotations

from novelchat.answering.grounding import CITATION, cite, with_citations
from tests.conftest import passage

PASSAGES = [
    passage("The lighthouse on Gull Point was built in 1871 by Silas Quill, a mason from the mainland."),
    passage("Marta climbed the 112 steps every evening to light the lamp.", 2),
    passage("何伯的船叫老泥鳅，船头蹲着一条黄狗，名叫锅巴。", 3),
]


def test_an_answer_without_citations_gets_the_passage_it_stands_on():
    answer = "The lighthouse has 112 steps."
    suffix = cite(answer, PASSAGES, "How many steps does the lighthouse have?")
    assert suffix == " [2]"
    assert CITATION.findall(answer + suffix) == ["2"]


def test_each_sentence_is_cited_once_in_order_and_chinese_works():
    answer = "Silas Quill built it in 1871. Marta climbs 112 steps each evening."
    assert cite(answer, PASSAGES, "Tell me about the lighthouse.") == " [1][2]"
    assert cite("那条黄狗叫锅巴。", PASSAGES, "何伯的狗叫什么？") == " [3]"


def test_no_citation_rather_than_a_wrong_one():
    assert cite("Her favourite colour is blue.", PASSAGES, "What is Marta's favourite colour?") == ""
    assert cite("The lighthouse.", PASSAGES, "How many steps does the lighthouse have?") == ""  # only question words


def test_an_answer_that_cites_is_left_alone_and_the_stream_is_unchanged():
    assert cite("It has 112 steps [2].", PASSAGES, "steps?") == ""
    pieces = list(with_citations(iter(["The lighthouse has ", "112 steps."]), PASSAGES, "How many steps?"))
    assert pieces == ["The lighthouse has ", "112 steps.", " [2]"]
