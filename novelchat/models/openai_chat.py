"""The ``openai`` backend: an OpenAI-compatible server (LMDeploy ``api_server``, vLLM, Ollama) via ``ChatOpenAI``."""

from __future__ import annotations

import importlib.util

from langchain_core.language_models import BaseChatModel

from novelchat.config import Settings
from novelchat.models.base import BackendStatus
from novelchat.models.errors import LLMUnavailable, explain
from novelchat.models.server_probe import served_models, server_status


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
            frequency_penalty=settings.llm_frequency_penalty or None,  # None: not sent
            stop=settings.llm_stop or None,
        )

    def status(self, settings: Settings) -> BackendStatus:
        """Whether the server answers the configured model (probed for seconds at most): its model list, or a
        one-token chat when the list fails, is empty or lacks the model."""
        if not settings.llm_base_url:
            return BackendStatus(self.name, False, "未设置服务地址 / NOVELCHAT_LLM_BASE_URL is empty.")
        return server_status(settings)
