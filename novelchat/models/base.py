"""What every chat backend provides: a model for the settings, and a status line found out without loading one."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from langchain_core.language_models import BaseChatModel

from novelchat.config import Settings


@dataclass(frozen=True)
class BackendStatus:
    """What the sidebar shows: which backend, whether it can answer, and one friendly line."""

    name: str
    ready: bool
    message: str


class ChatBackend(Protocol):
    """One kind of chat model (``none``, ``openai``, ``transformers``)."""

    def load(self, settings: Settings) -> BaseChatModel | None:
        """The chat model, or None for retrieval-only; LLMUnavailable when it cannot load."""
        ...

    def status(self, settings: Settings) -> BackendStatus:
        """Whether it can answer now: cheap (a brief server probe at most), never loads or downloads a model."""
        ...
