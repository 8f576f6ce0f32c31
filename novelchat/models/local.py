"""The ``transformers`` backend: a local Hugging Face causal LM (InternLM2 family, merged XTuner checkpoints, any
causal LM with a chat template) or a ``.gguf`` file, with token streaming behind LangChain's ``BaseChatModel``."""

from __future__ import annotations

import importlib.util
import queue
import threading
from collections.abc import Iterator
from typing import Any

from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel
from langchain_core.language_models.chat_models import generate_from_stream
from langchain_core.messages import AIMessageChunk, BaseMessage
from langchain_core.outputs import ChatGenerationChunk, ChatResult
from pydantic import PrivateAttr

from novelchat.config import Settings
from novelchat.models.base import BackendStatus
from novelchat.models.cache import Loaded, model_cache
from novelchat.models.errors import LLMUnavailable
from novelchat.models.generation import reply_processors, wordless_ids
from novelchat.models.loading import plan
from novelchat.models.sources import SMOLLM2_FILE, cached_model_config, is_gguf, is_smollm2, model_source
from novelchat.models.special_tokens import end_of_turn_ids

REPLACEMENT = "\ufffd"  # what a tokenizer decodes the bytes of an unfinished UTF-8 character to
_ROLES = {"human": "user", "ai": "assistant", "system": "system"}


class LocalTransformersChat(BaseChatModel):
    """A local Hugging Face causal LM (e.g. ``internlm/internlm2_5-7b-chat``) with token streaming.

    The model loads when the object is built, once per (path, quantisation) per process (:func:`model_cache`).
    ``load_in_4bit`` applies only on CUDA; on CPU the model loads in float32 (see ``load_note``).
    """

    model_path: str
    load_in_4bit: bool = True
    max_new_tokens: int = 512
    temperature: float = 0.7
    timeout: float = 30.0
    """Seconds to wait for the first token, and for each next one, before giving up."""
    repetition_penalty: float = 1.0
    """Penalty on tokens the reply already holds (1: off); the prompt's tokens are exempt."""
    no_repeat_ngram_size: int = 0
    """No run of this many tokens twice in one reply (0: off)."""
    stop_sequences: list[str] = []
    """Text that ends every reply, besides the ``stop`` of a call."""

    _loaded: Loaded = PrivateAttr()
    _wordless: list[int] = PrivateAttr(default_factory=list)  # tokens the repetition penalty leaves alone

    def model_post_init(self, context: Any, /) -> None:
        super().model_post_init(context)
        self._loaded = model_cache().load(self.model_path, self.load_in_4bit)
        if self.repetition_penalty > 1.0:
            self._wordless = wordless_ids(self._loaded.tokenizer.get_vocab())

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
        return plan(self.load_in_4bit, self._loaded.config, is_gguf(model_source(self.model_path)))[1]

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
                    logits_processor=reply_processors(
                        n_prompt, self.repetition_penalty, self.no_repeat_ngram_size, self._wordless
                    ),
                )
            except BaseException as exc:  # re-raised in the caller's thread below
                result["error"] = exc
                streamer.end()

        worker = threading.Thread(target=run, name="novelchat-generate", daemon=True)
        worker.start()
        stops = [s for s in [*(stop or []), *self.stop_sequences] if s]
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


class LocalBackend:
    """``transformers``: a local model, loaded in this process when first needed."""

    name = "transformers"
    summary = "本地模型 / a local Hugging Face model or .gguf file (InternLM2 natively)"

    @staticmethod
    def check() -> str | None:
        """What is missing to run local models, or None."""
        missing = [name for name in ("torch", "transformers") if importlib.util.find_spec(name) is None]
        return f"pip install {' '.join(missing)}" if missing else None

    def load(self, settings: Settings) -> LocalTransformersChat:
        """The configured local model, loaded (or reused)."""
        if not settings.llm_model:
            raise LLMUnavailable("未设置本地模型路径 / NOVELCHAT_LLM_MODEL is empty: set a model folder or hub id.")
        return LocalTransformersChat(
            model_path=settings.llm_model,
            load_in_4bit=settings.llm_load_in_4bit,
            max_new_tokens=settings.llm_max_new_tokens,
            temperature=settings.llm_temperature,
            timeout=settings.llm_timeout,
            repetition_penalty=settings.llm_repetition_penalty,
            no_repeat_ngram_size=settings.llm_no_repeat_ngram_size,
            stop_sequences=settings.llm_stop,
        )

    def status(self, settings: Settings) -> BackendStatus:
        """Loaded, loadable (with its memory needs) or not downloaded yet: found out from local files only."""
        if not settings.llm_model:
            return BackendStatus(self.name, False, "未设置本地模型 / NOVELCHAT_LLM_MODEL is empty.")
        source = model_source(settings.llm_model)
        gguf = is_gguf(source)
        shown = f"SmolLM2 ({SMOLLM2_FILE})" if is_smollm2(settings.llm_model) else source
        loaded = model_cache().loaded(source, plan(settings.llm_load_in_4bit, None, gguf)[0])
        if loaded:
            note = plan(settings.llm_load_in_4bit, loaded.config, gguf)[1]
            return BackendStatus(self.name, True, f"本地模型已加载 / Local model {shown} loaded: {note}.")
        config = cached_model_config(source)
        if config is None:
            return BackendStatus(
                self.name,
                False,
                f"本地模型尚未下载，首次使用时从模型仓库下载 / Local model {shown} is not downloaded yet: "
                "it downloads from the model hub when first needed.",
            )
        note = plan(settings.llm_load_in_4bit, config, gguf)[1]
        return BackendStatus(
            self.name, True, f"本地模型尚未加载，需要时加载 / Local model {shown} loads when first needed: {note}."
        )
