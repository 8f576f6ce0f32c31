"""Audio clips and joining them: every clip is decoded to 24 kHz mono 16-bit, then encoded once (ffmpeg)."""

from __future__ import annotations

import io
import shutil
import warnings
from collections.abc import Iterable
from dataclasses import dataclass

with warnings.catch_warnings():  # pydub warns on the console when ffmpeg is missing; missing_voice_tool() says it
    warnings.filterwarnings("ignore", message="Couldn't find ffmpeg", category=RuntimeWarning)
    from pydub import AudioSegment

SAMPLE_RATE = 24_000  # every clip is decoded to 24 kHz mono 16-bit before joining


def missing_voice_tool() -> str | None:
    """The program replies cannot be spoken without when it is not installed (ffmpeg: every reply is joined and
    encoded with it), else None."""
    return None if shutil.which("ffmpeg") else "ffmpeg"


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


def join_clips(clips: Iterable[Clip], fmt: str = "mp3") -> bytes:
    """Clips back to back (no added gaps) as one 24 kHz mono file in ``fmt`` (any format ffmpeg writes)."""
    joined = AudioSegment.silent(duration=0, frame_rate=SAMPLE_RATE)
    for clip in clips:
        joined += clip.decode()
    buf = io.BytesIO()
    joined.export(buf, format=fmt)
    return buf.getvalue()
