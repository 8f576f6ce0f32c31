"""A model never cites what it was not given: ``[n]`` outside 1..k leaves the streamed answer, and an answer saying
the passages do not hold it is cited nowhere (grounding.py)."""

from __future__ import annotations

import pytest

from novelchat.answering.grounding import (
    CITATION,
    declines,
    known_citations,
    with_citations,
    within_sources,
)
from novelchat.retrieval.passages import Passage
from tests.conftest import passage as a_passage


def passage(text: str, chapter: int = 1) -> Passage:
    return a_passage(text, chapter, title="The Lamp", heading="Chapter {}")


FIVE = [
    passage("The lighthouse on Gull Point was built in 1871 by Silas Quill, a mason from the mainland."),
    passage("Marta climbed the 112 steps every evening to light the lamp.", 2),
    passage("Her brother Elias mended nets in the harbour.", 3),
    passage("The Silver Herring came home through the storm.", 4),
    passage("Biscuit, the three-legged dog, slept by the stove.", 5),
]


def test_citations_of_passages_not_given_are_removed_with_their_space():
    assert known_citations("It has 112 steps [2][6]. Silas built it [7].", 5) == "It has 112 steps [2]. Silas built it."
    assert known_citations("[0] nothing, [5] and [12]", 5) == " nothing, [5] and"
    assert known_citations("a list [1, 2] and [123] stay", 5) == "a list [1, 2] and [123] stay"  # no [n] of ours


@pytest.mark.parametrize("pieces", [
    ["It has 112 steps [6]. Silas [2", "] built it [", "7]."],
    ["It has 112 steps", " [", "6", "]", ". Silas [2] built it", " [7", "]", "."],
])
def test_a_citation_split_across_streamed_pieces_is_still_removed(pieces):
    assert "".join(within_sources(pieces, 5)) == "It has 112 steps. Silas [2] built it."


def test_a_bracket_that_is_no_citation_is_streamed_as_it_is():
    assert "".join(within_sources(["see [", "note] and [", "4"], 5)) == "see [note] and [4"


def test_a_model_citing_only_passages_it_never_saw_gets_the_ones_it_stands_on():
    answer = "".join(with_citations(iter(["The lighthouse has ", "112 steps [6]", "[7]."]), FIVE,
                                    "How many steps does the lighthouse have?"))
    assert answer == "The lighthouse has 112 steps. [2]"
    assert all(1 <= int(n) <= len(FIVE) for n in CITATION.findall(answer))


@pytest.mark.parametrize("reply", [
    "The book does not seem to say.",
    "These details are not in these passages.",
    "The passages don't mention her favourite colour.",
    "书中似乎没有提到这一点。",
    "给出的段落里没有提到这件事。",
])
def test_a_reply_saying_the_passages_lack_the_answer_is_recognised_and_cited_nowhere(reply):
    assert declines(reply)
    assert "".join(with_citations(iter([reply]), FIVE, "What is Marta's favourite colour?")) == reply


def test_an_answer_is_no_decline():
    for answer in ("The lighthouse has 112 steps.", "Marta says the storm is not in the book she reads. Odd.", ""):
        assert not declines(answer)
