"""The voice engines, best first (the order ``voice_engine=auto`` tries them), and their one instance each.

Instances are made on first use, never at import: edge-tts remembers whether the service answered, and kokoro
keeps its model loaded in its own worker thread."""

from __future__ import annotations

import functools
from concurrent.futures import Future

from novelchat.registry import Registry
from novelchat.voice.edge import EdgeEngine
from novelchat.voice.engine import Engine
from novelchat.voice.espeak import EspeakEngine
from novelchat.voice.kokoro import KokoroEngine

ENGINES: Registry[Engine] = Registry("voice engine")
for _engine in (EdgeEngine, KokoroEngine, EspeakEngine):  # best first
    ENGINES.register(_engine.name, _engine, _engine.summary, _engine.check)


@functools.cache
def get_engine(name: str) -> Engine:
    """The engine called ``name`` (ValueError naming the choices for an unknown one), made once, on first use."""
    return ENGINES.create(name)


def all_engines() -> list[Engine]:
    """Every engine, best first."""
    return [get_engine(name) for name in ENGINES.names()]


def warm() -> Future[None] | None:
    """Load the offline Japanese model in the background, if installed (returns at once)."""
    kokoro = get_engine(KokoroEngine.name)
    return kokoro.warm() if isinstance(kokoro, KokoroEngine) and kokoro.available() else None
