"""Spoken questions: a recording checked (:mod:`recording`), then transcribed by a speech recogniser chosen by
settings (:mod:`transcribers`: faster-whisper locally, or an OpenAI-compatible ``/v1/audio/transcriptions`` server),
with the book's names as Whisper's initial prompt (:mod:`prompt`).

    text = transcribe(wav_bytes, settings, initial_prompt(["林晓", "何伯"]))

Audio is read from memory and never written to disk."""

from novelchat.asr.base import AsrError, Transcriber
from novelchat.asr.prompt import initial_prompt
from novelchat.asr.recording import RecordingError, read_recording
from novelchat.asr.transcribers import TRANSCRIBERS, asr_backend, get_transcriber, transcribe

__all__ = [
    "TRANSCRIBERS",
    "AsrError",
    "RecordingError",
    "Transcriber",
    "asr_backend",
    "get_transcriber",
    "initial_prompt",
    "read_recording",
    "transcribe",
]
