"""espeak-ng, the offline last resort: many languages, robotic, and poor at Mandarin and Japanese (it says so)."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

from novelchat.voice.engine import Engine, VoiceError


class EspeakEngine(Engine):
    """espeak-ng (Debian package), offline, robotic: the last resort (wav, 22 kHz)."""

    name, label, fmt = "espeak", "espeak-ng", "wav"
    summary = "espeak-ng: offline, many languages, robotic"
    voices = {"zh": "cmn", "yue": "yue", "ja": "ja", "en": "en-us"}
    poor = {
        "zh": "espeak-ng's Mandarin is poor: it reads pinyin with the tone digits in English",
        "ja": "espeak-ng reads only kana: every kanji comes out as 'Chinese letter'",
    }
    missing = "not installed (apt-get install espeak-ng)"
    failures = (OSError, VoiceError, subprocess.SubprocessError)

    @classmethod
    def check(cls) -> str | None:
        return None if shutil.which("espeak-ng") else cls.missing

    def synthesize(self, text: str, voice: str, *, speed: float = 1.0, pitch: int = 0, timeout: float = 8.0) -> bytes:
        with tempfile.TemporaryDirectory() as tmp:
            out = Path(tmp) / "out.wav"  # a file, not --stdout, so the WAV header carries real sizes
            cmd = ["espeak-ng", "-v", voice, "-s", str(round(175 * speed)), "-w", str(out), "--stdin"]
            subprocess.run(cmd, input=text.encode(), capture_output=True, timeout=timeout, check=True)
            return out.read_bytes()
