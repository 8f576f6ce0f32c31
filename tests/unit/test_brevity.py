"""Role-play replies end after a few sentences: the stream is cut after the N-th and the model stops being read."""

from __future__ import annotations

from collections.abc import Iterator

from novelchat.roleplay.brevity import at_most_sentences, length_rule


class Scripted:
    """A model's reply streamed piece by piece, counting how many pieces were read and whether it was closed."""

    def __init__(self, pieces: list[str]) -> None:
        self.pieces, self.read, self.closed = pieces, 0, False

    def __iter__(self) -> Iterator[str]:
        try:
            for piece in self.pieces:
                self.read += 1
                yield piece
        finally:
            self.closed = True


LOOP = ["No, I'm not", " afraid of storms.", " I'm afraid", " of the sea."] + [" I'm afraid of the sea."] * 200


def test_the_reply_ends_after_n_sentences_and_the_model_is_no_longer_read():
    model = Scripted(LOOP)
    stream = iter(model)
    reply = "".join(at_most_sentences(stream, 3))
    assert reply == "No, I'm not afraid of storms. I'm afraid of the sea. I'm afraid of the sea."
    assert model.read == 6 and model.closed  # the piece after the 3rd end showed it was over, then it stopped


def test_what_ends_a_sentence_is_the_one_splitter_s_rule():
    pieces = ['He said "Stop', '." Mr. Li', ' paid 3.', '14 yuan!', '! 你好。', '再见。', '不']
    assert "".join(at_most_sentences(pieces, 2)) == 'He said "Stop." Mr. Li paid 3.14 yuan!!'
    assert "".join(at_most_sentences(pieces, 4)) == 'He said "Stop." Mr. Li paid 3.14 yuan!! 你好。再见。'


def test_a_short_reply_and_no_limit_pass_whole():
    assert "".join(at_most_sentences(["Hello", " there."], 4)) == "Hello there."
    assert "".join(at_most_sentences(["Hi.\n\n", "Yes. No. Maybe. So."], 0)) == "Hi.\n\nYes. No. Maybe. So."
    assert "".join(at_most_sentences(["Hi.\n\n", "Yes. No."], 2)) == "Hi.\n\nYes."  # a blank line is no sentence


def test_the_prompt_asks_for_as_few_sentences():
    assert "4" in length_rule(4) and "at most 4 short sentences" in length_rule(4)
    assert "一到三段" in length_rule(0)
