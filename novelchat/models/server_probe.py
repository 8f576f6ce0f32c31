"""Whether an OpenAI-compatible server can answer, in one status line: its ``/models`` list first, then, when that
fails, lists nothing or does not list the configured model, a one-token chat request to that model.

Real servers differ: ``transformers serve`` lists only the hub cache (and fails with 500 when there is none), some
proxies have no ``/models`` at all, llama.cpp's ``llama-server`` answers whatever model is named. A server that
answers chat is ready, whatever its list says. :func:`judge` decides the line from what was found (pure)."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Literal

import openai

from novelchat.config import Settings
from novelchat.models.base import BackendStatus
from novelchat.models.errors import explain, first_line

log = logging.getLogger(__name__)
NAME = "openai"
LIST_SECONDS = 3.0  # a status line waits at most this long for the model list
CHAT_SECONDS = 10.0  # and this long for one token (a model on a busy CPU takes seconds)
SET_MODEL = "set NOVELCHAT_LLM_MODEL to the model it serves"


@dataclass(frozen=True)
class Listing:
    """The server's ``/models``: the ids, or None and why when the request failed with an HTTP error."""

    models: tuple[str, ...] | None
    error: str = ""

    def note(self) -> str:
        """What the list showed, for a status line (English)."""
        if self.models is None:
            return f"/models failed: {self.error}"
        return "/models lists no model" if not self.models else "/models does not list it"


@dataclass(frozen=True)
class ChatProbe:
    """How a one-token chat request to the model went: ``detail`` is one friendly line when it failed, ``seconds``
    how long it waited when it timed out."""

    outcome: Literal["answered", "unknown model", "timed out", "failed"]
    detail: str = ""
    seconds: float = 0.0


def client(settings: Settings, timeout: float) -> openai.OpenAI:
    """An OpenAI client for the configured server: no retries, ``timeout`` seconds a request."""
    return openai.OpenAI(
        base_url=settings.llm_base_url, api_key=settings.llm_api_key or "EMPTY", timeout=timeout, max_retries=0
    )


def served_models(settings: Settings, timeout: float) -> list[str]:
    """Model ids from the server's ``/models``; raises what the request raised."""
    return [m.id for m in client(settings, timeout).models.list().data]


def list_models(settings: Settings, timeout: float) -> Listing:
    """The server's ``/models``; an HTTP error or an unreadable answer becomes a Listing without models, while a
    server that cannot be reached or does not answer in time raises (the status says so, no chat is tried)."""
    try:
        return Listing(tuple(served_models(settings, timeout)))
    except openai.APIStatusError as exc:
        error = f"HTTP {exc.status_code}"
    except (openai.APIResponseValidationError, ValueError, TypeError) as exc:  # an answer that is not a model list
        error = f"{type(exc).__name__}: {first_line(exc)}"
    log.info("%s/models failed: %s", settings.llm_base_url, error)
    return Listing(None, error)


def probe_chat(settings: Settings, model: str, timeout: float) -> ChatProbe:
    """A one-token chat request to ``model``: whether the server answers it."""
    try:
        client(settings, timeout).chat.completions.create(
            model=model, messages=[{"role": "user", "content": "Hi"}], max_tokens=1, stream=False
        )
    except openai.NotFoundError as exc:
        return ChatProbe("unknown model", first_line(exc))
    except openai.APITimeoutError:
        return ChatProbe("timed out", seconds=timeout)
    except openai.OpenAIError as exc:  # a refusal, a server error: the reader's line, a bug's traceback logged
        return ChatProbe("failed", explain(exc, f"a one-token chat request to {model}"))
    return ChatProbe("answered")


def needs_chat_probe(model: str, listing: Listing) -> bool:
    """Whether the list leaves open if the server answers: it failed, is empty, or lacks the named ``model``."""
    return not listing.models or bool(model) and model not in listing.models


def judge(url: str, model: str, listing: Listing, chat: ChatProbe | None) -> BackendStatus:
    """The status line from what the server showed: ``model`` is the configured one ("" for none), ``chat`` the
    probe's outcome (None when the list settled it)."""
    listed = listing.models or ()
    if not needs_chat_probe(model, listing):
        model = model or listed[0]
        return BackendStatus(NAME, True, f"已连接模型服务：{model} / Connected to {model} at {url}.")
    if not model:
        return BackendStatus(
            NAME,
            False,
            f"服务在线但未列出模型，请设置 NOVELCHAT_LLM_MODEL / {url} is up but {listing.note()}: {SET_MODEL}.",
        )
    assert chat is not None, "the list does not settle it: a chat probe is needed"
    if chat.outcome == "answered":
        return BackendStatus(
            NAME, True, f"已连接模型服务：{model} / Connected to {model} at {url}: it answers chat ({listing.note()})."
        )
    if chat.outcome == "unknown model":
        available = ", ".join(listed[:5]) or "none listed"
        return BackendStatus(
            NAME,
            False,
            f"服务没有模型 {model}（可用：{available}） / {url} does not serve {model} (available: {available});"
            " fix NOVELCHAT_LLM_MODEL.",
        )
    if chat.outcome == "timed out":
        return BackendStatus(
            NAME,
            False,
            f"服务在线，但模型 {model} 在 {chat.seconds:g} 秒内没有回答（可能正在加载） / {url} is up but {model} did"
            f" not answer a one-token request within {chat.seconds:g} s (still loading?).",
        )
    return BackendStatus(NAME, False, chat.detail)


def server_status(settings: Settings) -> BackendStatus:
    """Whether the configured server answers the configured model (or, with none named, the first it lists); each
    request bounded by ``llm_timeout`` and by :data:`LIST_SECONDS` / :data:`CHAT_SECONDS`."""
    url, model = settings.llm_base_url, settings.llm_model
    listing = list_models(settings, min(settings.llm_timeout, LIST_SECONDS))
    chat = None
    if model and needs_chat_probe(model, listing):
        chat = probe_chat(settings, model, min(settings.llm_timeout, CHAT_SECONDS))
    return judge(url, model, listing, chat)
