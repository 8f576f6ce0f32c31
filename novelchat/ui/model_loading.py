"""The chat model while it loads: a local model loads in a worker thread started by the first page run, the page
says so (and how long that usually takes) and answers retrieval-only meanwhile, then reruns once when it is in.

How long a load takes is remembered (``LOAD_TIMES``) for the next start; before any was measured, it is estimated
from the size of the weights (:func:`usual_load_seconds`)."""

from __future__ import annotations

import json
import logging
import threading
import time
from pathlib import Path

import streamlit as st
from langchain_core.language_models import BaseChatModel

from novelchat.config import Settings
from novelchat.models import LLMUnavailable, load_chat_model, model_source, resolve_backend
from novelchat.ui.messages import friendly_message

log = logging.getLogger(__name__)
LOAD_TIMES = Path(".cache") / "model_loads.json"  # seconds the last load of each model took, by model source
POLL_S = 1.0  # how often a page shows the time spent loading, while the model loads (no timer otherwise)
WEIGHT_SUFFIXES = (".safetensors", ".bin", ".gguf", ".pt")
STARTUP_S = 10.0  # importing torch and transformers, reading the config and tokenizer
GGUF_S_PER_MB = 0.35  # a .gguf file is dequantised on the CPU as it loads
WEIGHTS_S_PER_MB = 0.01  # other weights are read from disk (≈ 100 MB/s)


def usual_load_seconds(weights_mb: float | None, gguf: bool, measured: float | None) -> float | None:
    """How long loading the model usually takes: the last measured load, else an estimate from the weights' size
    (None when neither is known, e.g. a hub model not downloaded yet)."""
    if measured is not None:
        return measured
    if weights_mb is None:
        return None
    return STARTUP_S + weights_mb * (GGUF_S_PER_MB if gguf else WEIGHTS_S_PER_MB)


def weights_mb(source: str) -> float | None:
    """The size in MB of a local model's weights (a file, or a folder's weight files); None for a hub id."""
    path = Path(source)
    files = [path] if path.is_file() else [p for p in path.glob("*") if p.suffix in WEIGHT_SUFFIXES]
    return sum(p.stat().st_size for p in files) / 1e6 if path.exists() and files else None


class ModelLoader:
    """The configured chat model, loaded once per server. A local model (the slow kind) loads in a worker thread
    that :meth:`start` begins; a server's client or no model is made at once in the caller's thread."""

    def __init__(self, settings: Settings, load_times: Path = LOAD_TIMES) -> None:
        self.settings, self.load_times = settings, load_times
        self._lock = threading.Lock()
        self._started: float | None = None
        self._result: tuple[BaseChatModel | None, str | None] | None = None
        self.source = ""

    def start(self) -> None:
        """Begin loading, once (later calls do nothing; while a quick one is made, they wait for it)."""
        background = resolve_backend(self.settings) == "transformers"
        with self._lock:
            if self._started is not None:
                return
            self._started = time.monotonic()
            if not background:
                self._load()
                return
        threading.Thread(target=self._load, name="novelchat-model-load", daemon=True).start()

    @property
    def loading(self) -> bool:
        """Whether the model is being loaded now."""
        return self._started is not None and self._result is None

    def result(self) -> tuple[BaseChatModel | None, str | None]:
        """The chat model, or None with the reason (retrieval-only); (None, None) while it loads."""
        return self._result or (None, None)

    def elapsed(self) -> float:
        """Seconds since the load began."""
        return time.monotonic() - self._started if self._started is not None else 0.0

    def usual_seconds(self) -> float | None:
        """How long this model usually takes to load (see :func:`usual_load_seconds`)."""
        try:
            self.source = self.source or model_source(self.settings.llm_model)
        except LLMUnavailable:  # not installed: the load says why, at once
            return None
        measured = self._measured().get(self.source)
        return usual_load_seconds(weights_mb(self.source), self.source.lower().endswith(".gguf"), measured)

    def _load(self) -> None:
        started = time.perf_counter()
        try:
            result: tuple[BaseChatModel | None, str | None] = (load_chat_model(self.settings), None)
        except LLMUnavailable as error:
            result = (None, error.friendly)
        except Exception as error:  # a bug: logged with its traceback, the page says one line and goes on without
            result = (None, friendly_message(error))
        if result[0] is not None and resolve_backend(self.settings) == "transformers":
            self._remember(time.perf_counter() - started)
        self._result = result

    def _measured(self) -> dict[str, float]:
        try:
            return json.loads(self.load_times.read_text(encoding="utf-8")) if self.load_times.exists() else {}
        except (OSError, ValueError) as error:
            log.warning("cannot read the model load times in %s (%s); estimating from the size", self.load_times,
                        error)
            return {}

    def _remember(self, seconds: float) -> None:
        try:
            self.source = self.source or model_source(self.settings.llm_model)
            self.load_times.parent.mkdir(parents=True, exist_ok=True)
            self.load_times.write_text(json.dumps({**self._measured(), self.source: round(seconds, 1)}),
                                       encoding="utf-8")
        except OSError as error:
            log.warning("cannot record how long the model took to load in %s: %s", self.load_times, error)


def loading_notice(loader: ModelLoader, run: int, t: dict) -> None:
    """While the model loads: what loads, for how long so far, and how long it usually takes; replies are
    retrieval-only meanwhile. A fragment on a timer only while loading: a tick that finds the model in reruns the
    page once (which draws no notice and stops the timer); a tick runs only between page runs, never inside one."""
    tick = st.session_state.get("model_notice_drawn") == run
    st.session_state["model_notice_drawn"] = run
    if not loader.loading:
        if tick:
            st.rerun()
        return
    usual = loader.usual_seconds()
    line = t["model_loading"].format(model=loader.settings.llm_model, elapsed=loader.elapsed())
    if usual is not None:
        line += " " + t["model_usually"].format(seconds=5 * max(1, round(usual / 5)))
    with st.container(key="model-loading"):
        st.info(f"{line} {t['model_meanwhile']}", icon=":material/hourglass_top:")
