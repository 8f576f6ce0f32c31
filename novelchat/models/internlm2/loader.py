"""InternLM2 / InternLM2.5 checkpoints loaded natively as Llama, with no remote code.

InternLM2 is Llama with other weight names and one packed attention projection. The checkpoint's own
``modeling_internlm2.py`` only runs on transformers < 4.49; here its config becomes a ``LlamaConfig``, its weights are
renamed at load time by a conversion mapping registered for :class:`InternLM2AsLlamaForCausalLM` (never for "llama",
so other Llama loads in the process are untouched), and its sentencepiece tokenizer is rebuilt with ``tokenizers``
(:mod:`novelchat.models.internlm2.tokenizer`). Official internlm2(-chat) / internlm2_5 folders and XTuner-merged ones
(``.bin`` shards, ``auto_map``, remote ``.py`` files) load the same way; the ``.py`` files are never imported.

The packed ``attention.wqkv`` is grouped per KV head: its rows reshape to (kv_heads, groups + 2, head_dim), the first
``groups`` blocks being that KV head's queries, then its key, then its value (not [q | k | v]).
"""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any

import torch
from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast
from transformers.conversion_mapping import get_checkpoint_conversion_mapping, register_checkpoint_conversion_mapping
from transformers.core_model_loading import ConversionOps, WeightConverter, WeightRenaming

from novelchat.models.special_tokens import end_of_turn_ids

# InternLM2 name → Llama name (regular expressions on the checkpoint's keys)
RENAMES = {
    r"\.tok_embeddings\.": ".embed_tokens.",
    r"\.attention\.wo\.": ".self_attn.o_proj.",
    r"\.feed_forward\.w1\.": ".mlp.gate_proj.",
    r"\.feed_forward\.w3\.": ".mlp.up_proj.",
    r"\.feed_forward\.w2\.": ".mlp.down_proj.",
    r"\.attention_norm\.": ".input_layernorm.",
    r"\.ffn_norm\.": ".post_attention_layernorm.",
    r"^output\.": "lm_head.",
}
QKV_TARGETS = ["self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj"]
_DROPPED_CONFIG_KEYS = {"auto_map", "attn_implementation", "architectures", "model_type", "bias", "rope_scaling"}
_REGISTER_LOCK = threading.Lock()
SNAPSHOT_FILES = ["*.json", "*.safetensors", "*.bin", "tokenizer.model", "*.jinja"]
GGUF_FILE = "model-f16.gguf"
DTYPES = {"bfloat16": torch.bfloat16, "float16": torch.float16, "float32": torch.float32}


def is_internlm2(config: dict[str, Any]) -> bool:
    """Whether a config.json describes an InternLM2-family checkpoint."""
    return config.get("model_type") == "internlm2" or "InternLM2ForCausalLM" in (config.get("architectures") or [])


def llama_config(config: dict[str, Any]) -> LlamaConfig:
    """The ``LlamaConfig`` equivalent of an InternLM2 config.json (sizes, norms, RoPE and its scaling, bias, ties)."""
    rope: dict[str, Any] = {"rope_type": "default", "rope_theta": float(config.get("rope_theta", 10000.0))}
    scaling = config.get("rope_scaling")
    if scaling:
        kind = scaling.get("rope_type") or scaling.get("type")
        if kind not in ("dynamic", "linear"):
            raise ValueError(f"unsupported InternLM2 rope_scaling type {kind!r} (dynamic and linear are known)")
        rope.update(rope_type=kind, factor=float(scaling["factor"]))
    known = {k: v for k, v in config.items() if k not in _DROPPED_CONFIG_KEYS and not k.startswith("_")}
    return LlamaConfig(
        **{k: v for k, v in known.items() if k in LlamaConfig.__dataclass_fields__ or k == "torch_dtype"},
        attention_bias=bool(config.get("bias", True)),  # InternLM2's `bias` (default True) covers wqkv and wo only
        mlp_bias=False,
        rope_parameters=rope,
        architectures=["LlamaForCausalLM"],
    )


class SplitGroupedQKV(ConversionOps):
    """InternLM2's packed ``wqkv`` (weight or bias) → Llama's q, k and v projections."""

    @torch.no_grad
    def convert(
        self, input_dict: dict[str, Any], source_patterns: list[str], target_patterns: list[str], **kwargs: Any
    ) -> dict[str, torch.Tensor]:
        tensors = next(iter(input_dict.values()))
        packed = tensors[0] if isinstance(tensors, list) else tensors
        return dict(zip(target_patterns, split_wqkv(packed, kwargs["config"]), strict=True))

    @property
    def reverse_op(self) -> ConversionOps:
        return PackGroupedQKV()


class PackGroupedQKV(ConversionOps):
    """Llama's q, k and v projections → InternLM2's packed ``wqkv`` (the reverse, used when saving)."""

    @torch.no_grad
    def convert(
        self, input_dict: dict[str, Any], source_patterns: list[str], target_patterns: list[str], **kwargs: Any
    ) -> dict[str, torch.Tensor]:
        parts = [input_dict[p][0] if isinstance(input_dict[p], list) else input_dict[p] for p in source_patterns]
        return {target_patterns[0]: pack_wqkv(*parts, kwargs["config"])}

    @property
    def reverse_op(self) -> ConversionOps:
        return SplitGroupedQKV()


def _shape(config: LlamaConfig) -> tuple[int, int, int]:
    """(kv_heads, query groups per kv head, head_dim)."""
    kv = config.num_key_value_heads
    return kv, config.num_attention_heads // kv, config.head_dim


def split_wqkv(packed: torch.Tensor, config: LlamaConfig) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Rows grouped per KV head as [q × groups, k, v] → (q, k, v) in Llama's head order."""
    kv, groups, head_dim = _shape(config)
    rest = packed.shape[1:]
    grouped = packed.reshape(kv, groups + 2, head_dim, *rest)
    q = grouped[:, :groups].reshape(kv * groups * head_dim, *rest)
    k = grouped[:, groups].reshape(kv * head_dim, *rest)
    v = grouped[:, groups + 1].reshape(kv * head_dim, *rest)
    return q.contiguous(), k.contiguous(), v.contiguous()


def pack_wqkv(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, config: LlamaConfig) -> torch.Tensor:
    """The inverse of :func:`split_wqkv`."""
    kv, groups, head_dim = _shape(config)
    rest = q.shape[1:]
    grouped = torch.cat(
        [q.reshape(kv, groups, head_dim, *rest), k.reshape(kv, 1, head_dim, *rest), v.reshape(kv, 1, head_dim, *rest)],
        dim=1,
    )
    return grouped.reshape(kv * (groups + 2) * head_dim, *rest).contiguous()


class InternLM2AsLlamaForCausalLM(LlamaForCausalLM):
    """``LlamaForCausalLM`` that reads InternLM2 weight names (the conversion mapping is registered for this class)."""


def _register_conversion() -> None:
    """Register the InternLM2 → Llama weight mapping for our class, once per process."""
    name = InternLM2AsLlamaForCausalLM.__name__
    with _REGISTER_LOCK:
        if get_checkpoint_conversion_mapping(name) is not None:
            return
        mapping: list[WeightRenaming | WeightConverter] = [WeightRenaming(s, t) for s, t in RENAMES.items()]
        mapping += [
            WeightConverter(f"attention.wqkv.{kind}", [f"{t}.{kind}" for t in QKV_TARGETS], [SplitGroupedQKV()])
            for kind in ("weight", "bias")
        ]
        register_checkpoint_conversion_mapping(name, mapping)


def read_config(folder: str | Path) -> dict[str, Any]:
    """The folder's config.json as a dict."""
    return json.loads((Path(folder) / "config.json").read_text(encoding="utf-8"))


def load_model(folder: str | Path, **from_pretrained: Any) -> LlamaForCausalLM:
    """An InternLM2 checkpoint folder as a Llama model; ``from_pretrained`` kwargs (dtype, device_map,
    quantization_config) pass through. No code from the folder is imported."""
    _register_conversion()
    config = llama_config(read_config(folder))
    model = InternLM2AsLlamaForCausalLM.from_pretrained(folder, config=config, **from_pretrained)
    return model


def load_tokenizer(folder: str | Path) -> PreTrainedTokenizerFast:
    """The checkpoint's sentencepiece tokenizer rebuilt with ``tokenizers`` (its chat template included)."""
    from novelchat.models.internlm2.tokenizer import load_sentencepiece_tokenizer

    return load_sentencepiece_tokenizer(folder)


def local_folder(source: str) -> Path:
    """A checkpoint folder on disk: ``source`` itself, or a hub snapshot of its weights, configs and tokenizer
    (never its ``.py`` files, which are not needed and not run)."""
    if Path(source).is_dir():
        return Path(source)
    from huggingface_hub import snapshot_download

    return Path(snapshot_download(source, allow_patterns=SNAPSHOT_FILES))


def convert(source: str | Path, target: str | Path, gguf: bool = False) -> Path:
    """Write an InternLM2 checkpoint as a standard Llama one (safetensors, tokenizer.json, chat template), which
    transformers, vLLM and llama.cpp's converter load with no remote code. Keeps the checkpoint's dtype.
    ``gguf`` also writes ``model-f16.gguf`` there, for llama.cpp and Ollama."""
    folder = local_folder(str(source))
    dtype = DTYPES.get(str(read_config(folder).get("torch_dtype")), torch.bfloat16)
    tokenizer = load_tokenizer(folder)
    plain = as_plain_llama(load_model(folder, dtype=dtype))
    plain.generation_config.eos_token_id = end_of_turn_ids(plain, tokenizer)
    plain.generation_config.pad_token_id = tokenizer.pad_token_id
    target = Path(target)
    plain.save_pretrained(target)
    tokenizer.save_pretrained(target)
    if gguf:
        from novelchat.models.internlm2.gguf import write_gguf

        write_gguf(plain, tokenizer, folder, target / GGUF_FILE)
    return target


def as_plain_llama(model: LlamaForCausalLM) -> LlamaForCausalLM:
    """The same weights in a plain ``LlamaForCausalLM`` (whose ``save_pretrained`` writes standard Llama names)."""
    with torch.device("meta"):
        plain = LlamaForCausalLM(model.config)
    plain.load_state_dict(model.state_dict(), assign=True)
    plain.tie_weights()
    plain.generation_config = model.generation_config
    return plain.eval()
