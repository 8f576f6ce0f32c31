"""The local models loaded in this process: each loads once per (source, load mode), however many chat objects
use it. The process's cache is made on first use (:func:`model_cache`), never at import."""

from __future__ import annotations

import functools
import threading
from dataclasses import dataclass
from typing import Any

from novelchat.models.loading import load_chat_weights, plan
from novelchat.models.sources import is_gguf, model_source, read_model_config


@dataclass(frozen=True)
class Loaded:
    """A loaded local model: the transformers model, its tokenizer and its config.json."""

    model: Any
    tokenizer: Any
    config: dict[str, Any]


class ModelCache:
    """Loaded local models by (source, "nf4" | "16bit" | "cpu"); loads are serialised."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._models: dict[tuple[str, str], Loaded] = {}

    def load(self, model_path: str, want_4bit: bool) -> Loaded:
        """The model at ``model_path``, loaded now or earlier; LLMUnavailable with one line if it cannot load."""
        source = model_source(model_path)
        key = (source, plan(want_4bit, None, is_gguf(source))[0])
        with self._lock:
            if key not in self._models:
                config = read_model_config(source)
                tokenizer, model = load_chat_weights(source, want_4bit, config)
                self._models[key] = Loaded(model, tokenizer, config)
            return self._models[key]

    def loaded(self, source: str, mode: str) -> Loaded | None:
        """The model already loaded from ``source`` in ``mode``, or None (never loads)."""
        return self._models.get((source, mode))

    def clear(self) -> None:
        """Forget every model (its memory is freed once no chat model object refers to it)."""
        with self._lock:
            self._models.clear()


@functools.cache
def model_cache() -> ModelCache:
    """This process's model cache, made on first use."""
    return ModelCache()
