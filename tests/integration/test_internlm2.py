"""InternLM2 checkpoints load natively (no remote code): logits against an independent plain-torch forward written
from InternLM2's equations, greedy generation token for token, and a negative control (the naive [q|k|v] split)."""

from __future__ import annotations

import math
import sys
from pathlib import Path

import pytest
import torch
from langchain_core.messages import HumanMessage, SystemMessage

from novelchat import models as llm
from novelchat.cli import convert
from novelchat.config import Settings
from novelchat.models.internlm2 import loader as internlm2
from novelchat.models.internlm2.loader import read_config
from tests.internlm2_fixtures import internlm2_config, write_internlm2_checkpoint, write_xtuner_merged


def remote_code_imported() -> bool:
    """Whether any of a checkpoint's own modules was imported (they also raise if ever executed)."""
    remote = ("modeling_internlm2", "configuration_internlm2", "tokenization_internlm2")
    return any(name.startswith("transformers_modules") or name.endswith(remote) for name in sys.modules)


# --- an independent forward, written from InternLM2's equations (modeling_internlm2.py) -----------------------------


def load_shards(folder: Path) -> dict[str, torch.Tensor]:
    weights: dict[str, torch.Tensor] = {}
    for file in sorted(folder.glob("*.safetensors")):
        from safetensors.torch import load_file

        weights |= load_file(file)
    for file in sorted(folder.glob("*.bin")):
        weights |= torch.load(file, weights_only=True)
    return {k: v.float() for k, v in weights.items()}


def rms_norm(x: torch.Tensor, weight: torch.Tensor, eps: float) -> torch.Tensor:
    return weight * (x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps))


def rotate_half(x: torch.Tensor) -> torch.Tensor:
    half = x.shape[-1] // 2
    return torch.cat([-x[..., half:], x[..., :half]], dim=-1)


def reference_logits(weights: dict[str, torch.Tensor], config: dict, ids: list[int], naive_qkv: bool = False):
    """InternLM2's forward pass in plain torch; ``naive_qkv`` reads wqkv as [q | k | v] (wrong, the control)."""
    heads, kv, h = config["num_attention_heads"], config["num_key_value_heads"], config["hidden_size"]
    groups, head_dim, eps, n = heads // kv, h // heads, config["rms_norm_eps"], len(ids)
    base, scaling = config["rope_theta"], config.get("rope_scaling") or {}
    if scaling.get("type") == "dynamic" and n > config["max_position_embeddings"]:  # InternLM2's dynamic NTK
        factor, limit = scaling["factor"], config["max_position_embeddings"]
        base = base * ((factor * n / limit) - (factor - 1)) ** (head_dim / (head_dim - 2))
    inv_freq = 1.0 / (base ** (torch.arange(0, head_dim, 2).float() / head_dim))
    angles = torch.outer(torch.arange(n).float(), inv_freq)
    cos, sin = torch.cat([angles, angles], -1).cos(), torch.cat([angles, angles], -1).sin()
    causal = torch.full((n, n), float("-inf")).triu(1)
    x = weights["model.tok_embeddings.weight"][ids]
    for i in range(config["num_hidden_layers"]):
        p = f"model.layers.{i}."
        y = rms_norm(x, weights[p + "attention_norm.weight"], eps)
        qkv = y @ weights[p + "attention.wqkv.weight"].T + weights.get(p + "attention.wqkv.bias", 0)
        if naive_qkv:
            q, k, v = qkv.split([heads * head_dim, kv * head_dim, kv * head_dim], -1)
            q, k, v = q.view(n, heads, head_dim), k.view(n, kv, head_dim), v.view(n, kv, head_dim)
        else:  # "b q (h gs d) -> b q h gs d": per KV head, `groups` queries, then the key, then the value
            qkv = qkv.view(n, kv, groups + 2, head_dim)
            q, k, v = qkv[:, :, :groups].reshape(n, heads, head_dim), qkv[:, :, -2], qkv[:, :, -1]
        q = q * cos[:, None] + rotate_half(q) * sin[:, None]
        k = k * cos[:, None] + rotate_half(k) * sin[:, None]
        k, v = k.repeat_interleave(groups, dim=1), v.repeat_interleave(groups, dim=1)  # query head j uses kv j // g
        scores = torch.einsum("qhd,khd->hqk", q, k) / math.sqrt(head_dim) + causal
        attended = torch.einsum("hqk,khd->qhd", scores.softmax(-1), v).reshape(n, heads * head_dim)
        x = x + attended @ weights[p + "attention.wo.weight"].T + weights.get(p + "attention.wo.bias", 0)
        y = rms_norm(x, weights[p + "ffn_norm.weight"], eps)
        gate = torch.nn.functional.silu(y @ weights[p + "feed_forward.w1.weight"].T)
        x = x + (gate * (y @ weights[p + "feed_forward.w3.weight"].T)) @ weights[p + "feed_forward.w2.weight"].T
    return rms_norm(x, weights["model.norm.weight"], eps) @ weights["output.weight"].T


def reference_greedy(weights, config, ids: list[int], steps: int) -> list[int]:
    ids = list(ids)
    for _ in range(steps):
        ids.append(int(reference_logits(weights, config, ids)[-1].argmax()))
    return ids


CASES = {
    "safetensors-bias-groups2": {"fmt": "safetensors", "bias": True, "heads": 4, "kv_heads": 2},
    "bin-fp16-nobias-groups3": {"fmt": "bin", "bias": False, "heads": 6, "kv_heads": 2, "dtype": torch.float16},
    "safetensors-bias-absent-dynamic-rope": {
        "fmt": "safetensors",
        "bias": None,
        "heads": 8,
        "kv_heads": 2,
        "rope_scaling": {"type": "dynamic", "factor": 2.0},
        "max_positions": 8,
    },
}
PROMPT = [1, 17, 42, 99, 5, 230, 77, 8, 150, 33, 64, 12]


@pytest.fixture(scope="module", params=list(CASES))
def checkpoint(request, tmp_path_factory) -> tuple[Path, dict]:
    folder = tmp_path_factory.mktemp(request.param)
    return folder, write_internlm2_checkpoint(folder, 256, **CASES[request.param])


def test_logits_match_internlm2_equations(checkpoint):
    folder, config = checkpoint
    model = internlm2.load_model(folder, dtype=torch.float32)
    weights = load_shards(folder)
    with torch.no_grad():
        logits = model(torch.tensor([PROMPT])).logits[0]
    expected = reference_logits(weights, config, PROMPT)

    assert type(model).__name__ == "InternLM2AsLlamaForCausalLM"
    assert model.config.attention_bias == (config.get("bias") is not False)
    assert (logits - expected).abs().max() <= 1e-4, (logits - expected).abs().max()
    naive = reference_logits(weights, config, PROMPT, naive_qkv=True)
    assert (logits - naive).abs().max() > 1e-2  # the [q|k|v] reading is measurably wrong: the test can fail
    assert not remote_code_imported()


def test_greedy_generation_is_token_identical(checkpoint):
    folder, config = checkpoint
    if config["rope_scaling"]:
        pytest.skip("past max_position_embeddings dynamic RoPE re-scales each step: compared in the single forward")
    model = internlm2.load_model(folder, dtype=torch.float32)
    output = model.generate(
        torch.tensor([PROMPT]), max_new_tokens=16, min_new_tokens=16, do_sample=False, pad_token_id=2
    )
    assert output[0].tolist() == reference_greedy(load_shards(folder), config, PROMPT, 16)


def test_naive_qkv_split_is_caught(checkpoint, monkeypatch):
    folder, config = checkpoint

    def naive(packed, cfg):
        kv, groups, head_dim = internlm2._shape(cfg)
        return packed.split([kv * groups * head_dim, kv * head_dim, kv * head_dim])

    monkeypatch.setattr(internlm2, "split_wqkv", naive)
    model = internlm2.load_model(folder, dtype=torch.float32)
    with torch.no_grad():
        logits = model(torch.tensor([PROMPT])).logits[0]
    assert (logits - reference_logits(load_shards(folder), config, PROMPT)).abs().max() > 1e-2


def test_split_and_pack_are_inverse():
    config = internlm2.llama_config(internlm2_config(64, heads=6, kv_heads=2, bias=True, rope_scaling=None))
    packed = torch.randn((6 + 4) * 16, 96)
    assert torch.equal(internlm2.pack_wqkv(*internlm2.split_wqkv(packed, config), config), packed)


def test_config_translation():
    raw = internlm2_config(92544, heads=16, kv_heads=8, bias=None, rope_scaling={"type": "dynamic", "factor": 2.0})
    config = internlm2.llama_config(raw | {"rope_theta": 1000000, "tie_word_embeddings": True})
    assert config.rope_parameters == {"rope_type": "dynamic", "factor": 2.0, "rope_theta": 1000000.0}
    assert config.attention_bias and not config.mlp_bias and config.tie_word_embeddings
    assert (config.num_attention_heads, config.num_key_value_heads, config.rms_norm_eps) == (16, 8, 1e-5)
    assert not hasattr(config, "auto_map") and config.architectures == ["LlamaForCausalLM"]
    with pytest.raises(ValueError, match="yarn"):
        internlm2.llama_config(raw | {"rope_scaling": {"type": "yarn", "factor": 4.0}})


# --- a folder shaped like `xtuner convert merge` output, through llm.py and the convert command ----------------------


@pytest.fixture(scope="module")
def xtuner_folder(tmp_path_factory) -> Path:
    return write_xtuner_merged(tmp_path_factory.mktemp("xtuner-merged"))


def chat_settings(model: Path, **overrides) -> Settings:
    return Settings(_env_file=None, llm_model=str(model), llm_temperature=0.0, llm_load_in_4bit=False, **overrides)


def test_an_xtuner_merged_folder_answers_through_llm_with_no_remote_code(xtuner_folder):
    chat = llm.load_chat_model(chat_settings(xtuner_folder, llm_max_new_tokens=12))
    messages = [SystemMessage("你是读书助手。"), HumanMessage("林守拙是谁？")]
    pieces = [chunk.content for chunk in chat.stream(messages)]

    assert type(chat.hf_model).__name__ == "InternLM2AsLlamaForCausalLM" and not remote_code_imported()
    prompt = chat.tokenizer.apply_chat_template(
        [{"role": "system", "content": "你是读书助手。"}, {"role": "user", "content": "林守拙是谁？"}],
        add_generation_prompt=True,
        tokenize=False,
    )
    assert prompt.startswith("<s><|im_start|>system\n") and prompt.endswith("<|im_start|>assistant\n")
    ids = chat.tokenizer(prompt, add_special_tokens=False).input_ids
    assert ids[0] == 1 and ids.count(1) == 1  # one BOS, from the template
    weights = {k: v.float() for k, v in load_shards(xtuner_folder).items()}
    expected = reference_greedy(weights, read_config(xtuner_folder), ids, 12)[len(ids) :]
    assert "".join(pieces) == chat.tokenizer.decode(expected, skip_special_tokens=True)
    assert len([p for p in pieces if p]) >= 2


def test_generation_stops_at_im_end(tmp_path):
    folder = write_xtuner_merged(tmp_path / "stops", favour="<|im_end|>")
    reply = llm.load_chat_model(chat_settings(folder, llm_max_new_tokens=12)).invoke("你好")
    assert reply.content == "" and reply.usage_metadata["output_tokens"] == 1
    assert reply.response_metadata["finish_reason"] == "stop"


def test_convert_writes_a_standard_llama_checkpoint(xtuner_folder, tmp_path):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    target = internlm2.convert(xtuner_folder, tmp_path / "llama")
    plain = AutoModelForCausalLM.from_pretrained(target, dtype=torch.float32)  # no trust_remote_code
    tokenizer = AutoTokenizer.from_pretrained(target)
    native = internlm2.load_model(xtuner_folder, dtype=torch.float32)
    config = read_config(target)

    assert type(plain).__name__ == "LlamaForCausalLM" and "auto_map" not in config
    assert config["torch_dtype" if "torch_dtype" in config else "dtype"] == "float16"
    assert not list(target.glob("*.py"))
    with torch.no_grad():
        assert torch.equal(plain(torch.tensor([PROMPT])).logits, native(torch.tensor([PROMPT])).logits)
    ours = internlm2.load_tokenizer(xtuner_folder)
    for text in ["你好，世界！ Hello  world", "<|im_start|>user\n林守拙<|im_end|>\n", " 第12章　夜里"]:
        assert tokenizer(text).input_ids == ours(text).input_ids
    assert tokenizer.chat_template == ours.chat_template
    assert plain.generation_config.eos_token_id == [2, ours.convert_tokens_to_ids("<|im_end|>")]


def test_gguf_export_round_trips(xtuner_folder, tmp_path):
    from transformers import AutoModelForCausalLM

    assert convert.main(["convert", str(xtuner_folder), str(tmp_path / "out"), "--gguf"]) == 0
    back = AutoModelForCausalLM.from_pretrained(tmp_path / "out", gguf_file=internlm2.GGUF_FILE, dtype=torch.float32)
    native = internlm2.load_model(xtuner_folder, dtype=torch.float32)
    with torch.no_grad():
        difference = back(torch.tensor([PROMPT])).logits - native(torch.tensor([PROMPT])).logits
    assert difference.abs().max() <= 1e-4


def test_4bit_load_quantises_the_split_projections_like_a_plain_llama(xtuner_folder, tmp_path):
    """nf4 (bitsandbytes, which also runs on CPU) through the load-time mapping = nf4 of the converted Llama."""
    from transformers import AutoModelForCausalLM, BitsAndBytesConfig

    nf4 = BitsAndBytesConfig(load_in_4bit=True, bnb_4bit_compute_dtype=torch.float32, bnb_4bit_quant_type="nf4")
    native = internlm2.load_model(xtuner_folder, dtype=torch.float32, quantization_config=nf4)
    plain = AutoModelForCausalLM.from_pretrained(
        internlm2.convert(xtuner_folder, tmp_path / "llama"), dtype=torch.float32, quantization_config=nf4
    )
    assert type(native.model.layers[0].self_attn.q_proj).__name__ == "Linear4bit"
    with torch.no_grad():
        assert torch.equal(native(torch.tensor([PROMPT])).logits, plain(torch.tensor([PROMPT])).logits)
