"""Chat models: the backends (:mod:`~novelchat.models.backends`), local loading and InternLM2 (``internlm2/``).

The public names below are imported from their modules on first use, so importing a submodule (say the InternLM2
tokenizer) does not load the whole chat stack, and this package imports nothing at import time."""

from __future__ import annotations

import importlib
from typing import Any

_PUBLIC = {
    "base": ("BackendStatus",),
    "backends": ("NO_MODEL_MESSAGE", "backend_status", "load_chat_model", "resolve_backend"),
    "errors": ("LLMUnavailable", "friendly_error"),
    "local": ("LocalTransformersChat",),
    "cache": ("model_cache",),
    "sources": ("model_source", "read_model_config"),
    "loading": ("from_pretrained", "load_kwargs"),
    "special_tokens": ("end_of_turn_ids",),
}
_HOME = {name: module for module, names in _PUBLIC.items() for name in names}
__all__ = sorted(_HOME)


def __getattr__(name: str) -> Any:
    if name not in _HOME:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{_HOME[name]}"), name)


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
