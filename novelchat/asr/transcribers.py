"""The speech recognisers NovelChat knows, by name, and the one settings choose (``asr_backend``; ``auto`` picks
the server when ``asr_base_url`` is set, else local faster-whisper when installed, else none)."""

from __future__ import annotations

import functools
import importlib.util
import logging
import time

from novelchat.asr.base import AsrError, Transcriber
from novelchat.asr.recording import read_recording
from novelchat.asr.score import fold
from novelchat.config import Settings, get_settings
from novelchat.registry import Registry

log = logging.getLogger(__name__)


def whisper_missing() -> str | None:
    """Why local faster-whisper cannot run here (None: it can), without loading it."""
    if importlib.util.find_spec("faster_whisper") is None:
        return "faster-whisper is not installed (pip install -r requirements-voice.txt)"
    return None


def _whisper(settings: Settings) -> Transcriber:
    from novelchat.asr.whisper import WhisperTranscriber

    return WhisperTranscriber(settings.asr_model)


def _openai(settings: Settings) -> Transcriber:
    from novelchat.asr.openai_asr import OpenAITranscriber

    return OpenAITranscriber(settings.asr_base_url, settings.asr_model or "whisper-1", settings.asr_api_key)


TRANSCRIBERS: Registry[Transcriber] = Registry("speech recogniser")
TRANSCRIBERS.register("whisper", _whisper, "faster-whisper: offline, on this machine", whisper_missing)
TRANSCRIBERS.register("openai", _openai, "an OpenAI-compatible /v1/audio/transcriptions server")


def asr_backend(settings: Settings, whisper_installed: bool) -> str | None:
    """The recogniser ``settings`` choose (None: spoken questions are off)."""
    if settings.asr_backend != "auto":
        return None if settings.asr_backend == "off" else settings.asr_backend
    if settings.asr_base_url:
        return "openai"
    return "whisper" if whisper_installed else None


@functools.cache
def _transcriber(name: str, model: str, base_url: str, api_key: str) -> Transcriber:
    settings = get_settings().with_(asr_model=model, asr_base_url=base_url, asr_api_key=api_key)
    return TRANSCRIBERS.create(name, settings)


def get_transcriber(settings: Settings) -> Transcriber:
    """The recogniser ``settings`` choose, made once per configuration; AsrError when there is none."""
    name = asr_backend(settings, whisper_missing() is None)
    if name is None:
        why = "asr_backend=off" if settings.asr_backend == "off" else whisper_missing()
        raise AsrError("这里不能语音提问 / spoken questions are off here", detail=str(why))
    if name == "whisper" and (missing := whisper_missing()):
        raise AsrError("这里不能语音提问 / spoken questions are off here", detail=missing)
    return _transcriber(name, settings.asr_model, settings.asr_base_url, settings.asr_api_key)


def transcribe(data: bytes, settings: Settings, prompt: str = "") -> str:
    """The question said in ``data`` (audio bytes), checked and transcribed; RecordingError for bad audio,
    AsrError when the recogniser fails or heard no words."""
    samples = read_recording(data, settings.asr_max_seconds)
    started = time.perf_counter()
    text = get_transcriber(settings).transcribe(samples, prompt).strip()
    log.info("transcribed %.1f s of audio in %.1f s", len(samples) / 16_000, time.perf_counter() - started)
    if not text or (prompt and fold(text) in fold(prompt)):  # Whisper echoes its prompt when it hears no words
        raise AsrError("没有听清：请再说一次 / no words were recognised: please say it again", detail=text)
    return text
