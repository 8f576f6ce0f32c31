"""A recorded question, read from memory and checked before it is transcribed: something that is not audio, a
recording too short or too long, or silence is one friendly line (``RecordingError``), never a traceback."""

from __future__ import annotations

import importlib.util
import io
import logging
import wave

import numpy as np

from novelchat.errors import NovelChatError
from novelchat.voice.audio import read_wav

log = logging.getLogger(__name__)
RATE = 16_000  # what Whisper listens at
MIN_SECONDS = 0.3
SILENCE = 0.01  # RMS of the loudest 50 ms below this (about -40 dBFS): nothing was said


class RecordingError(NovelChatError):
    """The recording cannot be a question (``friendly`` says why, in one line)."""


def read_recording(data: bytes, max_seconds: float) -> np.ndarray:
    """The recording as 16 kHz mono float samples, checked (RecordingError when it cannot be a question)."""
    samples = decode(data)
    if (problem := recording_problem(samples, RATE, max_seconds)) is not None:
        raise RecordingError(problem)
    return samples


def decode(data: bytes) -> np.ndarray:
    """WAV with the standard library (what the browser's microphone sends); any other format with PyAV when
    faster-whisper is installed. RecordingError when it is not audio."""
    try:
        return read_wav(data, RATE)
    except (wave.Error, EOFError, ValueError) as error:
        reason = f"{type(error).__name__}: {error}"
    if importlib.util.find_spec("av") is not None:
        from faster_whisper.audio import decode_audio

        try:
            return decode_audio(io.BytesIO(data), sampling_rate=RATE)
        except Exception as error:  # PyAV raises its own error family for anything it cannot read
            reason = f"{type(error).__name__}: {error}"
    log.info("a recording could not be read as audio: %s", reason)
    raise RecordingError("这不是音频文件 / that is not an audio recording", detail=reason)


def recording_problem(samples: np.ndarray, rate: int, max_seconds: float) -> str | None:
    """Why ``samples`` cannot be a spoken question (too short, too long, silent), or None."""
    seconds = len(samples) / rate
    if seconds < MIN_SECONDS:
        return "录音太短 / the recording is too short to hold a question"
    if seconds > max_seconds:
        return f"录音太长（{seconds:.0f} 秒，最多 {max_seconds:g} 秒）/ the recording is too long ({seconds:.0f} s, " \
               f"at most {max_seconds:g} s)"
    window = rate // 20
    frames = samples[: len(samples) // window * window].reshape(-1, window)
    if float(np.sqrt((frames.astype(np.float64) ** 2).mean(axis=1)).max()) < SILENCE:
        return "没有听到声音：请靠近麦克风再说一次 / no voice in the recording: speak closer to the microphone"
    return None
