"""What every text-to-speech engine offers: ``synthesize(text, voice, ...)`` → audio bytes, and how well it speaks
each language. The engines themselves live in edge.py, kokoro.py and espeak.py; engines.py lists them."""

from __future__ import annotations

from typing import ClassVar, Literal

from novelchat.errors import NovelChatError

Quality = Literal["good", "poor"]


class VoiceError(NovelChatError):
    """No engine could speak the text (``friendly`` says why in one line)."""


class Engine:
    """A text-to-speech engine: ``synthesize(text, voice, ...)`` returns audio bytes in ``fmt``."""

    name: ClassVar[str]  # as in the voice_engine setting
    label: ClassVar[str]  # as shown to users
    fmt: ClassVar[str]  # container of the bytes synthesize returns
    summary: ClassVar[str]  # one line for the engine list
    voices: ClassVar[dict[str, str]]  # language → default voice
    poor: ClassVar[dict[str, str]] = {}  # language → why this engine speaks it badly
    missing: ClassVar[str]  # why available() is False, for users
    # Exceptions that mean "cannot speak this now" (network down, a timeout, no audio): logged in one line when
    # falling back. Anything else is a defect, logged with its traceback.
    failures: ClassVar[tuple[type[Exception], ...]] = (OSError, VoiceError)

    @classmethod
    def check(cls) -> str | None:
        """A cheap test (no loading, no network) of whether the engine is installed: None, or what is missing."""
        return None

    def quality(self, lang: str) -> Quality | None:
        """How well this engine speaks ``lang`` (None: not at all)."""
        if lang not in self.voices:
            return None
        return "poor" if lang in self.poor else "good"

    def available(self) -> bool:
        """Whether the engine can speak now."""
        return self.check() is None

    def synthesize(self, text: str, voice: str, *, speed: float = 1.0, pitch: int = 0, timeout: float = 8.0) -> bytes:
        """Audio for ``text``; raises on failure or after ``timeout`` seconds. ``pitch`` is in Hz (edge only)."""
        raise NotImplementedError
