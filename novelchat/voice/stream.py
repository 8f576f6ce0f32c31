"""Voicing a reply while it is being written: sentence by sentence, in a worker thread, in order.

A sentence that cannot be voiced (every engine failed, or its translation failed) is logged with its traceback,
recorded in ``SpeechStream.failures`` as a VoiceError and skipped: the text reply always finishes."""

from __future__ import annotations

import itertools
import logging
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass

from novelchat.voice.audio import Clip, join_clips
from novelchat.voice.choice import VoiceChoice
from novelchat.voice.engine import VoiceError
from novelchat.voice.splitter import SentenceSplitter

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Segment:
    """One sentence of the reply and its audio (``clip.text`` is what was voiced, maybe translated)."""

    index: int  # of the sentence in the reply (a skipped sentence leaves its index out)
    text: str
    clip: Clip


class SpeechStream:
    """Voices a reply while it is being written: ``feed`` deltas, then ``close``; read segments in order.

    Sentences are synthesised one after another in a worker thread, so sentence 1 is being voiced while the
    model still writes sentence 2. ``feed``, ``close`` and ``ready`` return at once; ``segments`` and
    ``audio`` wait (call them from a player thread, or after the reply). None of them raises for a sentence
    that could not be voiced: it is skipped, logged, and kept in ``failures``.
    """

    def __init__(
        self, choice: VoiceChoice, translate: Callable[[str], str] | None = None, max_chars: int = 120
    ) -> None:
        self.choice = choice
        self.failures: list[VoiceError] = []  # one per skipped sentence, in the order they failed
        self._translate = translate
        self._splitter = SentenceSplitter(max_chars)
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="speech")
        self._futures: list[Future[Segment | None]] = []
        self._closed = False
        self._changed = threading.Condition()

    def feed(self, delta: str) -> None:
        """Add a text delta; the sentences it completes start being voiced at once."""
        for sentence in self._splitter.feed(delta):
            self._submit(sentence)

    def close(self) -> None:
        """The reply is complete: voice what is left. Calling it again does nothing."""
        if self._closed:
            return
        for sentence in self._splitter.flush():
            self._submit(sentence)
        self._pool.shutdown(wait=False)
        with self._changed:
            self._closed = True
            self._changed.notify_all()

    def _submit(self, sentence: str) -> None:
        with self._changed:
            self._futures.append(self._pool.submit(self._speak, len(self._futures), sentence))
            self._changed.notify_all()

    def _speak(self, index: int, sentence: str) -> Segment | None:
        """The sentence voiced, or None when it cannot be (the failure logged and kept)."""
        try:
            return Segment(index, sentence, self.choice.synthesize(self._spoken(sentence)))
        except Exception as error:  # a voice failure must never end the text reply
            failure = error if isinstance(error, VoiceError) else VoiceError(
                f"sentence {index + 1} could not be voiced", detail=f"{type(error).__name__}: {error}"
            )
            log.warning("sentence %d is not voiced: %s", index + 1, failure, exc_info=True)
            with self._changed:
                self.failures.append(failure)
            return None

    def _spoken(self, sentence: str) -> str:
        """What to voice for ``sentence``: its translation when the persona asks for one."""
        if self._translate is None:
            return sentence
        try:
            return self._translate(sentence).strip() or sentence
        except Exception as error:
            raise VoiceError(
                f"could not translate a sentence into {self.choice.lang} to voice it",
                detail=f"{type(error).__name__}: {error}",
            ) from error

    def ready(self) -> list[Segment]:
        """The segments voiced so far, in order (up to the first sentence still being voiced)."""
        done = []
        for f in list(self._futures):
            if not f.done():
                break
            if (segment := f.result()) is not None:
                done.append(segment)
        return done

    def segments(self, timeout: float | None = None) -> Iterator[Segment]:
        """Every voiced segment in order as soon as it is ready, until the stream is closed and all are out.

        ``timeout`` bounds each wait (TimeoutError).
        """
        for i in itertools.count():
            with self._changed:
                if not self._changed.wait_for(lambda n=i + 1: len(self._futures) >= n or self._closed, timeout):
                    raise TimeoutError("no new sentence")
                if i >= len(self._futures):
                    return
                future = self._futures[i]
            if (segment := future.result(timeout=timeout)) is not None:
                yield segment

    def audio(self, fmt: str | None = "mp3") -> bytes:
        """Close the stream, wait for every sentence and return them joined into one file (``fmt`` None: mp3 when
        ffmpeg is installed, else the clips' own format, see :func:`~novelchat.voice.audio.reply_format`).

        VoiceError when the reply had sentences and none of them could be voiced.
        """
        self.close()
        segments = list(self.segments())
        if not segments and self.failures:
            raise VoiceError("no sentence of the reply could be voiced", detail=self.failures[0].friendly)
        return join_clips((s.clip for s in segments), fmt)
