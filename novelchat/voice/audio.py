"""Audio clips and joining them: every clip is decoded to 24 kHz mono 16-bit, then encoded once.

With ffmpeg any mix of clips becomes any format (pydub). Without it the voice still works where it can: WAV clips
are joined with the standard library (``wave``), MP3 clips of one engine are joined frame stream after frame
stream; only a mix of the two, or MP3 wanted from WAV, needs ffmpeg."""

from __future__ import annotations

import io
import shutil
import warnings
import wave
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

import numpy as np

from novelchat.voice.engine import VoiceError

with warnings.catch_warnings():  # pydub warns on the console when ffmpeg is missing; join_plan() says it
    warnings.filterwarnings("ignore", message="Couldn't find ffmpeg", category=RuntimeWarning)
    from pydub import AudioSegment

SAMPLE_RATE = 24_000  # every clip is decoded to 24 kHz mono 16-bit before joining
Join = Literal["ffmpeg", "wave", "concat"]


def has_ffmpeg() -> bool:
    """Whether ffmpeg is installed (pydub needs it for anything but WAV)."""
    return shutil.which("ffmpeg") is not None


@dataclass(frozen=True)
class Clip:
    """Audio of one piece of text, as bytes in ``fmt`` ("wav" or "mp3")."""

    audio: bytes
    fmt: str
    engine: str
    voice: str
    text: str  # what was spoken

    def decode(self) -> AudioSegment:
        """The audio as 24 kHz mono 16-bit (needs ffmpeg for mp3)."""
        seg = AudioSegment.from_file(io.BytesIO(self.audio), format=self.fmt)
        return seg.set_frame_rate(SAMPLE_RATE).set_channels(1).set_sample_width(2)


def reply_format(clip_fmts: Iterable[str], ffmpeg: bool) -> str:
    """The format a whole reply is written in: mp3 when ffmpeg can make it, else the clips' own (wav for a mix)."""
    fmts = set(clip_fmts)
    if ffmpeg:
        return "mp3"
    return fmts.pop() if len(fmts) == 1 else "wav"


def join_plan(clip_fmts: Iterable[str], fmt: str, ffmpeg: bool) -> Join:
    """How clips in ``clip_fmts`` become one ``fmt`` file; VoiceError when that needs ffmpeg and it is missing."""
    fmts = set(clip_fmts)
    if ffmpeg:
        return "ffmpeg"
    if fmt == "wav" and fmts <= {"wav"}:
        return "wave"
    if fmt == "mp3" and fmts <= {"mp3"}:
        return "concat"  # an MP3 file is a stream of frames: two streams back to back are one
    raise VoiceError(f"joining {'/'.join(sorted(fmts))} audio into {fmt} needs ffmpeg (apt-get install ffmpeg)")


def join_clips(clips: Iterable[Clip], fmt: str | None = "mp3") -> bytes:
    """Clips back to back (no added gaps) as one 24 kHz mono file in ``fmt`` (None: :func:`reply_format`)."""
    clips = list(clips)
    ffmpeg = has_ffmpeg()
    fmt = fmt or reply_format((c.fmt for c in clips), ffmpeg)
    plan = join_plan((c.fmt for c in clips), fmt, ffmpeg)
    if plan == "concat":
        return b"".join(c.audio for c in clips)
    if plan == "wave":
        return wav_bytes(np.concatenate([read_wav(c.audio) for c in clips] or [np.zeros(0, np.float32)]))
    joined = AudioSegment.silent(duration=0, frame_rate=SAMPLE_RATE)
    for clip in clips:
        joined += clip.decode()
    buf = io.BytesIO()
    joined.export(buf, format=fmt)
    return buf.getvalue()


def wav_bytes(samples: np.ndarray, rate: int = SAMPLE_RATE) -> bytes:
    """Float samples in [-1, 1] (mono) as a 16-bit WAV file."""
    pcm = (np.clip(samples, -1, 1) * 32767).astype("<i2")
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(pcm.tobytes())
    return buf.getvalue()


def read_wav(data: bytes, rate: int = SAMPLE_RATE) -> np.ndarray:
    """A 16-bit PCM WAV file as mono float samples at ``rate`` (channels averaged, linearly resampled);
    ``wave.Error`` when it is not one."""
    with wave.open(io.BytesIO(data), "rb") as w:
        if w.getsampwidth() != 2:
            raise wave.Error(f"{8 * w.getsampwidth()}-bit WAV: only 16-bit PCM is read without ffmpeg")
        channels, source_rate = w.getnchannels(), w.getframerate()
        pcm = np.frombuffer(w.readframes(w.getnframes()), "<i2")
    samples = pcm.reshape(-1, channels).mean(axis=1) / 32768
    return resample(samples, source_rate, rate)


def resample(samples: np.ndarray, source_rate: int, rate: int) -> np.ndarray:
    """``samples`` at ``source_rate`` linearly interpolated to ``rate`` (enough for speech)."""
    if source_rate == rate or not samples.size:
        return samples.astype(np.float32)
    n = round(len(samples) * rate / source_rate)
    return np.interp(np.arange(n) * source_rate / rate, np.arange(len(samples)), samples).astype(np.float32)


def audio_mime(data: bytes) -> str:
    """The MIME type of audio bytes NovelChat wrote (WAV starts with RIFF; otherwise MP3)."""
    return "audio/wav" if data[:4] == b"RIFF" else "audio/mp3"

