"""Chat-model failures as one friendly line (Chinese / English): :class:`LLMUnavailable` and :func:`friendly_error`.

A failure with a known cause (a setting, a server, memory, a timeout) is the reader's to fix; any other is a bug,
and :func:`explain` logs it with its traceback."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import httpx
import openai

from novelchat.errors import NovelChatError

log = logging.getLogger(__name__)
OUT_OF_MEMORY = (
    "显存或内存不足：试试 4-bit（NOVELCHAT_LLM_LOAD_IN_4BIT=true）、更小的模型或更短的上下文。"
    " / Out of memory: try 4-bit, a smaller model or a shorter context."
)
TIMED_OUT = (
    "模型响应超时：服务可能过载或卡住，可调大 NOVELCHAT_LLM_TIMEOUT。"
    " / The chat model did not answer in time (NOVELCHAT_LLM_TIMEOUT)."
)
UNREACHABLE = (
    "无法连接模型服务：请确认服务已启动、NOVELCHAT_LLM_BASE_URL 正确。"
    " / Cannot reach the chat model server: is it running at NOVELCHAT_LLM_BASE_URL?"
)


class LLMUnavailable(NovelChatError, RuntimeError):
    """The configured chat model cannot be loaded or reached; ``friendly`` (and ``str()``) is one line."""


def exception_chain(exc: BaseException) -> Iterator[BaseException]:
    """``exc``, then its causes and contexts, each once."""
    seen: set[int] = set()
    err: BaseException | None = exc
    while err is not None and id(err) not in seen:
        seen.add(id(err))
        yield err
        err = err.__cause__ or err.__context__


def first_line(exc: BaseException) -> str:
    """The first line of an exception's message (at most 200 characters), or its type's name."""
    lines = str(exc).strip().splitlines()
    return lines[0][:200] if lines else type(exc).__name__


def known_cause(exc: BaseException) -> str | None:
    """The friendly line for a failure with a known cause anywhere in its chain; None for anything else."""
    chain = list(exception_chain(exc))
    if any(isinstance(err, MemoryError) or "out of memory" in str(err).lower() for err in chain):
        return OUT_OF_MEMORY
    for err in chain:
        if isinstance(err, LLMUnavailable):
            return err.friendly
        if isinstance(err, (openai.APITimeoutError, httpx.TimeoutException, TimeoutError)):
            return TIMED_OUT
        if isinstance(err, openai.NotFoundError):
            return (
                "模型服务找不到该模型或地址（404）：检查 NOVELCHAT_LLM_MODEL，"
                "以及 NOVELCHAT_LLM_BASE_URL 是否以 /v1 结尾。"
                f" / Model or path not found (404): {first_line(err)}"
            )
        if isinstance(err, (openai.AuthenticationError, openai.PermissionDeniedError)):
            return "模型服务拒绝了密钥：检查 NOVELCHAT_LLM_API_KEY。 / The server rejected the API key."
        if isinstance(err, (openai.APIConnectionError, httpx.TransportError, ConnectionError)):
            return UNREACHABLE
        if isinstance(err, openai.APIStatusError):
            return f"模型服务出错（{err.status_code}） / The chat model server failed: {first_line(err)}"
    return None


def friendly_error(exc: BaseException) -> str:
    """One friendly line (Chinese / English) for a chat-model failure; never a traceback."""
    return known_cause(exc) or f"模型出错 / Chat model error: {type(exc).__name__}: {first_line(exc)}"


def explain(exc: BaseException, context: str) -> str:
    """:func:`friendly_error` for a failure caught while ``context``; one that has no known cause is a bug: logged
    with its traceback (a known one is logged in one line)."""
    if known_cause(exc) is None:
        log.error("%s failed", context, exc_info=exc)
    else:
        log.info("%s failed: %s", context, first_line(exc))
    return friendly_error(exc)
