"""How a local model loads here (device, dtype, 4-bit, weight memory) and the loading itself.

InternLM2 checkpoints load natively as Llama (:mod:`novelchat.models.internlm2.loader`, no remote code); other causal
LMs as transformers loads them; a ``.gguf`` file on CPU, dequantised to float32. torch and transformers are imported
only when needed."""

from __future__ import annotations

import logging
import sys
from pathlib import Path
from typing import Any

from novelchat.models.errors import LLMUnavailable, first_line
from novelchat.models.sources import is_gguf

log = logging.getLogger(__name__)


def plan(want_4bit: bool, config: dict[str, Any] | None, gguf: bool = False) -> tuple[str, str]:
    """How a model will load here: ("nf4" | "16bit" | "cpu", a note on device, dtype and weight memory).

    A GGUF file always loads on CPU, dequantised to float32.
    """
    import torch

    sizes = memory_gb(config or {})
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


def memory_gb(config: dict[str, Any]) -> tuple[float, float] | None:
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


def load_kwargs(mode: str) -> dict[str, Any]:
    """``from_pretrained`` arguments for a load mode of :func:`plan`: float32 on CPU, 16-bit on CUDA (bf16 where
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


def from_pretrained(source: str, config: dict[str, Any], kwargs: dict[str, Any]) -> tuple[Any, Any]:
    """Tokenizer and model (in eval mode) from a folder, a hub id or a .gguf file; InternLM2 natively, as Llama."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from novelchat.models.internlm2 import loader as internlm2

    if not is_gguf(source) and internlm2.is_internlm2(config):  # no remote code: runs on any transformers 5.x
        folder = internlm2.local_folder(source)
        return internlm2.load_tokenizer(folder), internlm2.load_model(folder, **kwargs).eval()
    gguf: dict[str, str] = {}
    if is_gguf(source):  # transformers reads a GGUF from its folder, by file name
        source, gguf = str(Path(source).parent), {"gguf_file": Path(source).name}
    tokenizer = AutoTokenizer.from_pretrained(source, trust_remote_code=True, **gguf)
    model = AutoModelForCausalLM.from_pretrained(source, trust_remote_code=True, **gguf, **kwargs).eval()
    return tokenizer, model


def load_chat_weights(source: str, want_4bit: bool, config: dict[str, Any]) -> tuple[Any, Any]:
    """Tokenizer and model of a chat model, checked by a two-token generation; LLMUnavailable with one line (and the
    traceback in the log) when it cannot load or has no chat template."""
    mode, note = plan(want_4bit, config, is_gguf(source))
    print(f"[novelchat] loading {source}: {note} ...", file=sys.stderr, flush=True)
    try:
        tokenizer, model = from_pretrained(source, config, load_kwargs(mode))
        probe = tokenizer("你好", return_tensors="pt").to(model.device)  # two tokens: exercises the KV cache
        model.generate(
            **probe, max_new_tokens=2, min_new_tokens=2, do_sample=False, pad_token_id=tokenizer.eos_token_id
        )
    except Exception as exc:  # remote code, weights, memory: the reader sees one line, the log the traceback
        log.exception("cannot load the local model %s", source)
        raise LLMUnavailable(
            f"无法加载本地模型 {source} / Cannot load the local model: {type(exc).__name__}: {first_line(exc)}"
            + _remote_code_hint(config)
        ) from exc
    if not tokenizer.chat_template:
        raise LLMUnavailable(f"模型没有对话模板 / {source} has no chat template (not a chat model?).")
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
