"""Microsoft Edge's online neural voices via edge-tts: the best voices, when the service can be reached."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from concurrent.futures import Future

import aiohttp
import edge_tts

from novelchat.voice.engine import Engine, VoiceError


class EdgeEngine(Engine):
    """Microsoft Edge's online neural voices via edge-tts (mp3, 24 kHz)."""

    name, label, fmt = "edge", "edge-tts", "mp3"
    summary = "edge-tts: Microsoft's online neural voices (zh, ja, en, yue)"
    voices = {
        "zh": "zh-CN-XiaoyiNeural",
        "ja": "ja-JP-NanamiNeural",
        "en": "en-US-AriaNeural",
        "yue": "zh-HK-HiuGaaiNeural",
    }
    missing = "unreachable (offline?)"
    failures = (OSError, VoiceError, aiohttp.ClientError, edge_tts.exceptions.EdgeTTSException)
    host = "speech.platform.bing.com"
    probe_ttl = 300.0  # seconds a reachability answer is trusted

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._probe: Future[bool] | None = None
        self._probe_at = 0.0

    def available(self, wait: float = 0.5) -> bool:
        """Whether the service answers a TCP connect; waits at most ``wait`` s (a slow probe counts as no)."""
        with self._lock:
            if self._probe is None or time.monotonic() - self._probe_at > self.probe_ttl:
                self._probe = Future()
                self._probe_at = time.monotonic()
                threading.Thread(target=self._connect, args=(self._probe,), daemon=True).start()
            probe = self._probe
        try:
            return probe.result(timeout=wait)
        except TimeoutError:
            return False

    def _connect(self, probe: Future[bool]) -> None:
        try:
            socket.create_connection((self.host, 443), timeout=3).close()
            probe.set_result(True)
        except OSError:
            probe.set_result(False)

    def _mark_down(self) -> None:
        down: Future[bool] = Future()
        down.set_result(False)
        with self._lock:
            self._probe, self._probe_at = down, time.monotonic()

    def synthesize(self, text: str, voice: str, *, speed: float = 1.0, pitch: int = 0, timeout: float = 8.0) -> bytes:
        async def run() -> bytes:
            rate = f"{round((speed - 1) * 100):+d}%"
            tts = edge_tts.Communicate(text, voice, rate=rate, pitch=f"{pitch:+d}Hz")
            return b"".join([c["data"] async for c in tts.stream() if c["type"] == "audio"])

        try:
            return asyncio.run(asyncio.wait_for(run(), timeout))
        except (aiohttp.ClientError, OSError, TimeoutError):
            self._mark_down()
            raise
