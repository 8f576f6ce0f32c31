"""A Llama-layout model (e.g. an InternLM2 checkpoint loaded natively) written as a GGUF file for llama.cpp / Ollama.

The layout follows llama.cpp's ``convert_hf_to_gguf.py`` for Llama: its tensor names, q and k rows permuted from
Hugging Face's rotate-half order to llama.cpp's interleaved RoPE, the sentencepiece vocabulary with scores and token
types (InternLM2's renamed special tokens as control tokens), and the chat template. 2-D weights are written in
float16, norms in float32. Dynamic NTK RoPE scaling has no GGUF equivalent and is left out (with a warning).
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import torch
from transformers import LlamaForCausalLM, PreTrainedTokenizerFast

from novelchat.models.internlm2.tokenizer import read_proto

log = logging.getLogger(__name__)
USER_DEFINED, CONTROL = 4, 3  # sentencepiece / GGUF token types
TENSOR_NAMES = {
    "model.embed_tokens.weight": "token_embd.weight",
    "model.norm.weight": "output_norm.weight",
    "lm_head.weight": "output.weight",
}
LAYER_NAMES = {
    "input_layernorm.weight": "attn_norm.weight",
    "self_attn.q_proj": "attn_q",
    "self_attn.k_proj": "attn_k",
    "self_attn.v_proj": "attn_v",
    "self_attn.o_proj": "attn_output",
    "post_attention_layernorm.weight": "ffn_norm.weight",
    "mlp.gate_proj.weight": "ffn_gate.weight",
    "mlp.up_proj.weight": "ffn_up.weight",
    "mlp.down_proj.weight": "ffn_down.weight",
}


def permute_for_llama_cpp(weight: torch.Tensor, heads: int) -> torch.Tensor:
    """Rows of each head from rotate-half order (x[:d/2], x[d/2:]) to llama.cpp's interleaved pairs."""
    return (
        weight.reshape(heads, 2, weight.shape[0] // heads // 2, *weight.shape[1:]).swapaxes(1, 2).reshape(weight.shape)
    )


def gguf_name(name: str) -> str:
    """The GGUF tensor name of a Llama parameter name."""
    if name in TENSOR_NAMES:
        return TENSOR_NAMES[name]
    _, _, layer, rest = name.split(".", 3)
    for hf, gg in LAYER_NAMES.items():
        if rest.startswith(hf):
            return f"blk.{layer}.{gg}{rest[len(hf) :]}"
    raise ValueError(f"no GGUF name for {name}")


def write_gguf(model: LlamaForCausalLM, tokenizer: PreTrainedTokenizerFast, folder: Path, path: Path) -> Path:
    """Write ``model`` with the sentencepiece vocabulary of ``folder/tokenizer.model`` as a GGUF file at ``path``."""
    import gguf

    config = model.config
    rope = config.rope_parameters or {}
    if rope.get("rope_type", "default") != "default":
        log.warning("GGUF: %s RoPE scaling has no llama.cpp equivalent; left out", rope["rope_type"])
    writer = gguf.GGUFWriter(str(path), "llama")
    writer.add_name(Path(folder).name)
    writer.add_context_length(config.max_position_embeddings)
    writer.add_embedding_length(config.hidden_size)
    writer.add_block_count(config.num_hidden_layers)
    writer.add_feed_forward_length(config.intermediate_size)
    writer.add_head_count(config.num_attention_heads)
    writer.add_head_count_kv(config.num_key_value_heads)
    writer.add_rope_dimension_count(config.head_dim)
    writer.add_rope_freq_base(float(rope.get("rope_theta", 10000.0)))
    writer.add_layer_norm_rms_eps(config.rms_norm_eps)
    writer.add_file_type(gguf.LlamaFileType.MOSTLY_F16)
    _add_vocabulary(writer, tokenizer, Path(folder))
    for name, tensor in model.state_dict().items():
        if name == "lm_head.weight" and config.tie_word_embeddings:
            continue
        tensor = tensor.detach().float()
        if ".self_attn.q_proj." in name:
            tensor = permute_for_llama_cpp(tensor, config.num_attention_heads)
        elif ".self_attn.k_proj." in name:
            tensor = permute_for_llama_cpp(tensor, config.num_key_value_heads)
        array = tensor.numpy().astype(np.float16 if tensor.ndim == 2 else np.float32)
        writer.add_tensor(gguf_name(name), array)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return path


def _add_vocabulary(writer, tokenizer: PreTrainedTokenizerFast, folder: Path) -> None:
    """The sentencepiece pieces (renamed as the tokenizer names them), scores, types, special ids, chat template."""
    proto = read_proto(folder / "tokenizer.model")
    special = set(tokenizer.all_special_ids) | set(tokenizer.added_tokens_decoder)
    tokens = tokenizer.convert_ids_to_tokens(list(range(len(proto.pieces))))
    writer.add_tokenizer_model("llama")
    writer.add_token_list([t.encode("utf-8") for t in tokens])
    writer.add_token_scores([p.score for p in proto.pieces])
    types = [CONTROL if i in special and p.type == USER_DEFINED else p.type for i, p in enumerate(proto.pieces)]
    writer.add_token_types(types)
    writer.add_add_space_prefix(proto.normalizer_spec.add_dummy_prefix)
    writer.add_bos_token_id(tokenizer.bos_token_id)
    writer.add_eos_token_id(tokenizer.eos_token_id)
    writer.add_unk_token_id(tokenizer.unk_token_id)
    if tokenizer.pad_token_id is not None:
        writer.add_pad_token_id(tokenizer.pad_token_id)
    im_end = tokenizer.convert_tokens_to_ids("<|im_end|>")
    if im_end != tokenizer.unk_token_id:
        writer.add_eot_token_id(im_end)  # llama.cpp ends a chat turn on it
    writer.add_add_bos_token(True)
    writer.add_add_eos_token(False)
    if tokenizer.chat_template:
        writer.add_chat_template(tokenizer.chat_template)
