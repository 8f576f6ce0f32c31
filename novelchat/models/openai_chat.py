"""The ``openai`` backend: an OpenAI-compatible server (LMDeploy ``api_server``, vLLM, Ollama) via ``ChatOpenAI``."""

from __future__ import annotations

import importlib.util

import openai
from langchain_core.language_models import BaseChatModel

from novelchat.config import Settings
from novelchat.models.base import BackendStatus
from novelchat.models.errors import LLMUnavailable, explain

STATUS_PROBE_SECONDS = 3.0  # a status line waits at most this long for the server


class OpenAIBackend:
    """``openai``: a model served over HTTP; nothing loads in this process."""

    name = "openai"
    summary = "模型服务 / an OpenAI-compatible server (LMDeploy, vLLM, Ollama)"

    @staticmethod
    def check() -> str | None:
        """What is missing to talk to a server, or None."""
        return None if importlib.util.find_spec("langchain_openai") else "pip install langchain-openai"

    def load(self, settings: Settings) -> BaseChatModel:
        """ChatOpenAI for the configured server; asks the server for its model when none is named."""
        from langchain_openai import ChatOpenAI

        if not settings.llm_base_url:
            raise LLMUnavailable("未设置服务地址 / NOVELCHAT_LLM_BASE_URL is empty, e.g. http://127.0.0.1:23333/v1")
        model = settings.llm_model
        if not model:
            try:
                served = served_models(settings, settings.llm_timeout)
            except Exception as exc:  # down, refused, a bug: one line either way, a bug's traceback logged
                raise LLMUnavailable(explain(exc, f"listing the models of {settings.llm_base_url}")) from exc
            if not served:
                raise LLMUnavailable(f"服务没有列出任何模型 / {settings.llm_base_url}/models lists no model.")
            model = served[0]
        return ChatOpenAI(
            base_url=settings.llm_base_url,
            api_key=settings.llm_api_key or "EMPTY",
            model=model,
            timeout=settings.llm_timeout,
            max_retries=0,
            streaming=True,
            use_responses_api=False,  # local servers speak /chat/completions only
            temperature=settings.llm_temperature,
            max_tokens=settings.llm_max_new_tokens,  # sent as max_completion_tokens
            extra_body={"max_tokens": settings.llm_max_new_tokens},  # older LMDeploy / Ollama read only this
        )

    def status(self, settings: Settings) -> BackendStatus:
        """Whether the server is up and serves the configured model (probed for a few seconds at most)."""
        if not settings.llm_base_url:
            return BackendStatus(self.name, False, "未设置服务地址 / NOVELCHAT_LLM_BASE_URL is empty.")
        served = served_models(settings, min(settings.llm_timeout, STATUS_PROBE_SECONDS))
        url = settings.llm_base_url
        if not served:
            return BackendStatus(self.name, False, f"服务在线但没有模型 / {url} is up but lists no model.")
        if settings.llm_model and settings.llm_model not in served:
            available = ", ".join(served[:5])
            return BackendStatus(
                self.name,
                False,
                f"服务没有模型 {settings.llm_model}（可用：{available}）"
                f" / {url} does not serve {settings.llm_model} (available: {available}); fix NOVELCHAT_LLM_MODEL.",
            )
        model = settings.llm_model or served[0]
        return BackendStatus(self.name, True, f"已连接模型服务：{model} / Connected to {model} at {url}.")


def served_models(settings: Settings, timeout: float) -> list[str]:
    """Model ids from the server's ``/models``."""
    client = openai.OpenAI(
        base_url=settings.llm_base_url, api_key=settings.llm_api_key or "EMPTY", timeout=timeout, max_retries=0
    )
    return [m.id for m in client.models.list().data]
