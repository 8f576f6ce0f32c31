"""``novelchat voice "文本" -o out.mp3 [--voice V] [--engine E] [--lang L]``: speak a text into an audio file."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from novelchat.config import get_settings
from novelchat.voice.choice import guess_lang, pick_engine
from novelchat.voice.engine import VoiceError
from novelchat.voice.engines import ENGINES
from novelchat.voice.stream import SpeechStream


def main(argv: list[str] | None = None) -> int:
    """Speak the text with the chosen (or best) engine; print which voice and why, then what was used."""
    parser = argparse.ArgumentParser(
        prog="novelchat voice", description="Speak text into an audio file (format from the extension)."
    )
    parser.add_argument("text", help="text to speak")
    parser.add_argument("-o", "--out", type=Path, default=Path("out.mp3"), help="output file: .mp3, .wav, .ogg ...")
    parser.add_argument("--voice", help="engine voice id, e.g. zh-CN-XiaoyiNeural, jf_alpha, cmn")
    parser.add_argument("--engine", choices=ENGINES.names(), help="engine to try first (default: voice_engine setting)")
    parser.add_argument("--lang", help="language: zh, ja, en, yue ... (default: guessed from the text)")
    args = parser.parse_args(argv)

    settings = get_settings()
    engine = args.engine
    if args.voice and not engine:
        engine = "kokoro" if args.voice.startswith(("jf_", "jm_")) else "edge" if "Neural" in args.voice else "espeak"
    if engine:
        settings = settings.with_(voice_engine=engine)
    lang = args.lang or guess_lang(args.text)
    try:
        choice = pick_engine(lang, settings, {f"{engine}_voice": args.voice} if args.voice else None)
        if choice is None:
            print("voice is off (voice_engine=off)", file=sys.stderr)
            return 1
        print(choice.description)
        speech = SpeechStream(choice)
        speech.feed(args.text)
        audio = speech.audio(args.out.suffix.lstrip(".") or "mp3")
    except VoiceError as error:
        print(f"voice: {error}", file=sys.stderr)
        return 1
    args.out.write_bytes(audio)
    used = sorted({f"{s.clip.engine}/{s.clip.voice}" for s in speech.segments()})
    print(f"wrote {args.out} ({', '.join(used)})")
    return 0
