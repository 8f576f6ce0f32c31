"""Role-play replies kept short: the reply ends after a few sentences (``novelchat.text.sentences`` says where one
ends), and so does its generation, however long the model would go on."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from novelchat.text.sentences import finished_sentence_ends

LENGTH = ("回复简短自然，一到三段。\nReply briefly and naturally, in one to three short paragraphs, "
          "in the reader's language.")
LENGTH_CAPPED = ("回复简短自然，最多{n}句话。\nReply briefly and naturally, in at most {n} short sentences, "
                 "in the reader's language.")


def length_rule(max_sentences: int) -> str:
    """The prompt's line on how long a reply is (``max_sentences`` 0: no limit)."""
    return LENGTH_CAPPED.format(n=max_sentences) if max_sentences > 0 else LENGTH


def at_most_sentences(pieces: Iterable[str], limit: int) -> Iterator[str]:
    """Stream ``pieces`` up to the end of their ``limit``-th sentence, then stop reading them, which ends the model's
    generation (``limit`` 0: all of them). A sentence's end is known when the text after it starts."""
    pieces = iter(pieces)
    if limit <= 0:
        yield from pieces
        return
    text, sent = "", 0
    try:
        for piece in pieces:
            text += piece
            ends = finished_sentence_ends(text)
            end = ends[limit - 1] if len(ends) >= limit else len(text)
            if end > sent:
                yield text[sent:end]
                sent = end
            if len(ends) >= limit:
                return
    finally:
        close = getattr(pieces, "close", None)
        if close is not None:
            close()
