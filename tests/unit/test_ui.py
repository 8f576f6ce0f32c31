"""The UI's glue without a browser: one friendly line for every failure, and a reply whose voice fails mid-way is
still written whole (Streamlit's AppTest runs the page code in-process)."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from types import SimpleNamespace

import pytest
from streamlit.testing.v1 import AppTest

from novelchat.answering.turn import ChatTurn
from novelchat.errors import NovelChatError
from novelchat.ui import conversation
from novelchat.ui.messages import SOMETHING_WENT_WRONG, friendly_message
from novelchat.ui.speech import ReplyVoice
from novelchat.voice import VoiceError

SENTENCES = ["第一句。", "第二句。", "第三句。"]


class FakeSpeech:
    """A speech stream that voices ``fails_after`` pieces, then raises ``error`` (from ``ready``)."""

    def __init__(self, fails_after: int = 99, error: Exception | None = None) -> None:
        self.fed: list[str] = []
        self.fails_after, self.error = fails_after, error or VoiceError("朗读失败 / this sentence could not be voiced")

    def feed(self, delta: str) -> None:
        self.fed.append(delta)

    def ready(self) -> list:
        if len(self.fed) >= self.fails_after:
            raise self.error
        return [SimpleNamespace(clip=SimpleNamespace(audio=b"ID3", fmt="mp3"))]

    def audio(self, fmt: str = "mp3") -> bytes:
        return b"ID3 whole reply"


class FakePlayer:
    """A Streamlit slot, recorded."""

    def __init__(self) -> None:
        self.shown: list[tuple[str, object]] = []

    def audio(self, data: bytes, **_) -> None:
        self.shown.append(("audio", data))

    def caption(self, body: str) -> None:
        self.shown.append(("caption", body))


def test_a_friendly_error_is_its_own_line_and_is_not_logged(caplog):
    error = NovelChatError("书不在这里 / no such book", detail="x.txt")
    with caplog.at_level(logging.ERROR):
        assert friendly_message(error) == "书不在这里 / no such book"
    assert caplog.records == []


def test_an_unexpected_error_is_one_generic_line_and_logged_with_its_traceback(caplog):
    error = KeyError("persona")
    try:
        raise error
    except KeyError:
        with caplog.at_level(logging.ERROR):
            assert friendly_message(error) == SOMETHING_WENT_WRONG
    [record] = caplog.records
    assert record.levelno == logging.ERROR and record.exc_info[1] is error and "persona" in record.getMessage()


def test_a_voiced_reply_autoplays_its_first_sentence_then_keeps_the_whole_reply():
    speech, player = FakeSpeech(), FakePlayer()
    voice = ReplyVoice(speech, player)
    assert list(voice.spoken(ChatTurn([], [], iter(SENTENCES)))) == SENTENCES
    assert voice.finish() == b"ID3 whole reply"
    assert speech.fed == SENTENCES and player.shown == [("audio", b"ID3"), ("audio", b"ID3 whole reply")]


@pytest.mark.parametrize(("error", "line"), [(VoiceError("朗读失败 / could not voice"), "朗读失败 / could not voice"),
                                             (TypeError("a bug in the voice"), SOMETHING_WENT_WRONG)])
def test_a_voice_that_fails_mid_reply_goes_quiet_in_one_line_and_the_text_goes_on(error, line, caplog):
    speech, player = FakeSpeech(fails_after=2, error=error), FakePlayer()
    voice = ReplyVoice(speech, player)
    with caplog.at_level(logging.ERROR):
        assert list(voice.spoken(ChatTurn([], [], iter(SENTENCES)))) == SENTENCES
        assert voice.finish() is None
    assert speech.fed == SENTENCES[:2]  # silenced at the failure
    assert player.shown == [("audio", b"ID3"), ("caption", f":material/volume_off: {line}")]
    assert len(caplog.records) == (0 if isinstance(error, NovelChatError) else 1)


def reply_page() -> None:
    """A page writing one reply, kept in the session (what ``conversation`` inserts into the conversation)."""
    import streamlit as st

    from novelchat.ui.conversation import respond
    from novelchat.ui.i18n import TEXT

    choices = {"persona": None, "voice": True, "book": None, "mode": "qa", "scope": None, "top_k": 5}
    asked = [{"role": "assistant", "content": "你好"}, {"role": "user", "content": "望河楼有几层？"}]
    st.session_state["kept"] = respond(asked, choices, None, "a chat model", None, TEXT["zh"])


def run_reply(monkeypatch, stream: Iterator[str], speech: FakeSpeech | None = None) -> AppTest:
    monkeypatch.setattr(conversation, "reply", lambda *_: ChatTurn([], [], stream))
    monkeypatch.setattr(conversation, "start_speech", lambda *_: speech)
    return AppTest.from_function(reply_page).run(timeout=30)


def test_a_voice_failure_during_a_reply_is_one_line_under_the_whole_reply(monkeypatch):
    """Issue #21: the voice failing as the reply was written (``spoken`` ran outside the reply's try) was a
    traceback in place of the reply."""
    page = run_reply(monkeypatch, iter(SENTENCES), FakeSpeech(fails_after=1))
    assert not page.exception
    kept = page.session_state["kept"]
    assert kept["content"] == "".join(SENTENCES) and kept["audio"] is None
    [message] = page.chat_message
    assert [m.value for m in message.markdown] == ["".join(SENTENCES)]
    assert [c.value for c in message.caption] == [":material/volume_off: 朗读失败 / this sentence could not be voiced"]


def broken_stream() -> Iterator[str]:
    yield SENTENCES[0]
    raise ZeroDivisionError("a bug half way")


def test_a_reply_that_breaks_half_way_keeps_its_text_and_ends_in_one_logged_line(monkeypatch, caplog):
    with caplog.at_level(logging.ERROR):
        page = run_reply(monkeypatch, broken_stream())
    assert not page.exception
    assert page.session_state["kept"]["content"] == f"{SENTENCES[0]}\n\n⚠️ {SOMETHING_WENT_WRONG}"
    assert [r.exc_info[0] for r in caplog.records if r.exc_info] == [ZeroDivisionError]


def test_a_reply_that_cannot_start_says_why_in_its_friendly_line(monkeypatch):
    def no_book(*_):
        raise NovelChatError("还没有索引任何书 / nothing indexed yet")

    monkeypatch.setattr(conversation, "reply", no_book)
    page = AppTest.from_function(reply_page).run(timeout=30)
    assert not page.exception
    assert page.session_state["kept"]["content"] == "⚠️ 还没有索引任何书 / nothing indexed yet"
