"""Cutting a reply that is still being written into sentences, each as soon as it ends (novelchat.text.sentences
says where a sentence ends)."""

from __future__ import annotations

from novelchat.text.sentences import CLAUSE_END, SENTENCE_END, ends_sentence


class SentenceSplitter:
    """Cuts a stream of text deltas into sentences as soon as each one ends.

    A sentence ends where ``novelchat.text.sentences`` says (。！？!?…\\n or a run of them, plus closing quotes; an
    ASCII "." only before whitespace and not after an abbreviation or an initial). It is emitted when the next
    character arrives, so the run of end marks and quotes is known to be over. A sentence longer than
    ``max_chars`` with no end in sight is cut at its last comma, so one long sentence cannot hold up the voice.
    """

    def __init__(self, max_chars: int = 120) -> None:
        self.max_chars = max_chars
        self._buf = ""

    def feed(self, delta: str) -> list[str]:
        """Add text; return the sentences it completed."""
        self._buf += delta
        return self._take(final=False)

    def flush(self) -> list[str]:
        """Return everything left (the end of the stream ends the last sentence)."""
        out = self._take(final=True)
        rest, self._buf = self._buf.strip(), ""
        return out + ([rest] if _speakable(rest) else [])

    def _take(self, final: bool) -> list[str]:
        out = []
        while (cut := self._cut(final)) is not None:
            sentence, self._buf = self._buf[:cut].strip(), self._buf[cut:]
            if _speakable(sentence):
                out.append(sentence)
        return out

    def _cut(self, final: bool) -> int | None:
        buf = self._buf
        for match in SENTENCE_END.finditer(buf):
            if match.end() == len(buf) and not final:
                break  # more end marks or quotes may follow in the next delta ("3." may become "3.14")
            if ends_sentence(buf, match):
                return match.end()
        if len(buf) > self.max_chars and (clauses := list(CLAUSE_END.finditer(buf))):
            return clauses[-1].end()
        return None


def _speakable(text: str) -> bool:
    return any(c.isalnum() for c in text)
