"""Tiny InternLM2-shaped folders for tests: a sentencepiece BPE tokenizer trained on made-up text, and checkpoints
with random weights (as `save_pretrained` or XTuner's `convert merge` write them)."""

from __future__ import annotations

import io
import json
import random
from pathlib import Path
from typing import Any

import sentencepiece as spm
import torch
from safetensors.torch import save_file
from sentencepiece import sentencepiece_model_pb2

VOCAB_SIZE = 1500
# The proto's placeholders at the top ids: one spare that stays a plain user-defined piece, then six that
# tokenizer_config.json renames (as InternLM2 ships them: "[UNUSED_TOKEN_146]" is "<|im_start|>").
SPARE = "[UNUSED_TOKEN_140]"
PLACEHOLDERS = {
    "[UNUSED_TOKEN_141]": "<|plugin|>",
    "[UNUSED_TOKEN_142]": "<|interpreter|>",
    "[UNUSED_TOKEN_143]": "<|action_end|>",
    "[UNUSED_TOKEN_144]": "<|action_start|>",
    "[UNUSED_TOKEN_145]": "<|im_end|>",
    "[UNUSED_TOKEN_146]": "<|im_start|>",
}
CHAT_TEMPLATE = (
    "{{ bos_token }}{% for message in messages %}"
    "{{ '<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n' }}"
    "{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"
)

CHINESE_WORDS = (
    "我们 你们 他们 今天 明天 昨天 晚上 早晨 天气 不错 下雨 小说 故事 人物 城市 山河 夜里 灯火 朋友 老师 学生 "
    "先生 姑娘 掌柜 客栈 码头 船家 江湖 剑客 书生 茶馆 酒楼 街道 院子 窗户 月亮 星星 风声 雪花 春天 秋天 "
    "东西 南北 上面 下面 里面 外面 已经 还是 因为 所以 但是 如果 虽然 于是 忽然 慢慢 轻轻 认真 高兴 难过 "
    "知道 觉得 看见 听说 回来 出去 开始 结束 等待 寻找 告诉 记得 忘记 喜欢 相信 离开 到达 第一 第二 一个 "
    "两个 三个 许多 几乎 一直 终于 原来 其实 怎么 什么 为什么 这里 那里 时候 地方 问题 办法 消息 声音"
).split()
ENGLISH_WORDS = (
    "the a an of and to in on at by with from night lamp river town friend teacher story chapter book "
    "read write walk run open close light dark old new small big quiet loud rain snow wind moon star "
    "he she they we you it was is are were will would could should said asked answered looked found "
    "Hello World Chen Lin Zhou Anna Tom Monday July"
).split()
PUNCTUATION = ["，", "。", "！", "？", "、", "：", "；", "“", "”", ",", ".", "!", "?", ":", ";", "(", ")"]


def _sentence(rng: random.Random) -> str:
    """One line of made-up mixed text: Chinese words, English words, numbers, punctuation, odd spacing."""
    parts: list[str] = []
    for _ in range(rng.randint(4, 16)):
        roll = rng.random()
        if roll < 0.55:
            parts.append(rng.choice(CHINESE_WORDS))
        elif roll < 0.8:
            parts.append(rng.choice(ENGLISH_WORDS))
        elif roll < 0.9:
            parts.append(str(rng.randint(0, 99999)))
        elif roll < 0.97:
            parts.append(rng.choice(PUNCTUATION))
        else:  # rare characters: a few survive character_coverage, most do not
            parts.append(chr(rng.randint(0x4E00, 0x9FA5)))
    joiners = [" ", "", "", "  ", "\t"]
    return "".join(part + rng.choice(joiners) for part in parts).rstrip()


def training_lines(count: int = 600, seed: int = 7) -> list[str]:
    rng = random.Random(seed)
    return [_sentence(rng) for _ in range(count)]


def _train(**options: Any) -> sentencepiece_model_pb2.ModelProto:
    model = io.BytesIO()
    spm.SentencePieceTrainer.train(
        sentence_iterator=iter(training_lines()),
        model_writer=model,
        **{
            "model_type": "bpe",
            "vocab_size": VOCAB_SIZE - 1 - len(PLACEHOLDERS),
            "byte_fallback": True,
            "character_coverage": 0.995,
            "normalization_rule_name": "identity",
            "remove_extra_whitespaces": False,
            "split_digits": True,
            "allow_whitespace_only_pieces": True,
            "num_threads": 1,
            "minloglevel": 2,
        }
        | options,
    )
    proto = sentencepiece_model_pb2.ModelProto()
    proto.ParseFromString(model.getvalue())
    return proto


def _tokenizer_config(proto: sentencepiece_model_pb2.ModelProto) -> dict:
    def entry(content: str) -> dict:
        return {
            "content": content,
            "lstrip": False,
            "normalized": False,
            "rstrip": False,
            "single_word": False,
            "special": True,
        }

    decoder = {str(i): entry(p.piece) for i, p in enumerate(proto.pieces[:3])}
    top = len(proto.pieces) - len(PLACEHOLDERS)
    decoder |= {str(top + i): entry(name) for i, name in enumerate(PLACEHOLDERS.values())}
    return {
        "add_bos_token": True,
        "add_eos_token": False,
        "added_tokens_decoder": decoder,
        "bos_token": "<s>",
        "eos_token": "</s>",
        "pad_token": "</s>",
        "unk_token": "<unk>",
        "chat_template": CHAT_TEMPLATE,
        "clean_up_tokenization_spaces": False,
        "model_max_length": 32768,
        "tokenizer_class": "InternLM2Tokenizer",
        "auto_map": {"AutoTokenizer": ["tokenization_internlm2.InternLM2Tokenizer", None]},
    }


def write_sentencepiece_tokenizer(folder: Path, add_dummy_prefix: bool, **trainer_options: Any) -> None:
    """Write tokenizer.model + tokenizer_config.json shaped like InternLM2's (placeholders at the top ids).

    trainer_options override the sentencepiece trainer's (BPE, byte fallback, identity normalization, spaces kept).
    """
    proto = _train(add_dummy_prefix=add_dummy_prefix, **trainer_options)
    for piece in [SPARE, *PLACEHOLDERS]:
        proto.pieces.add(piece=piece, score=0.0, type=sentencepiece_model_pb2.ModelProto.SentencePiece.USER_DEFINED)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "tokenizer.model").write_bytes(proto.SerializeToString())
    config = _tokenizer_config(proto)
    (folder / "tokenizer_config.json").write_text(json.dumps(config, ensure_ascii=False, indent=2), encoding="utf-8")


REMOTE_CODE = 'raise RuntimeError("remote code was executed")\n'


def internlm2_config(
    vocab: int, *, heads: int, kv_heads: int, bias: bool | None, rope_scaling: dict | None, max_positions: int = 64
) -> dict:
    """A config.json as InternLM2 checkpoints ship it (remote-code pointers included)."""
    config = {
        "architectures": ["InternLM2ForCausalLM"],
        "auto_map": {
            "AutoConfig": "configuration_internlm2.InternLM2Config",
            "AutoModelForCausalLM": "modeling_internlm2.InternLM2ForCausalLM",
        },
        "model_type": "internlm2",
        "attn_implementation": "eager",
        "vocab_size": vocab,
        "hidden_size": 16 * heads,
        "intermediate_size": 128,
        "num_hidden_layers": 2,
        "num_attention_heads": heads,
        "num_key_value_heads": kv_heads,
        "hidden_act": "silu",
        "max_position_embeddings": max_positions,
        "rms_norm_eps": 1e-5,
        "rope_theta": 1000000,
        "rope_scaling": rope_scaling,
        "tie_word_embeddings": False,
        "bos_token_id": 1,
        "eos_token_id": 2,
        "pad_token_id": 2,
        "torch_dtype": "float32",
    }
    if bias is not None:
        config["bias"] = bias
    return config


def random_internlm2_weights(config: dict, seed: int) -> dict[str, torch.Tensor]:
    """Random weights under InternLM2's names (large enough that greedy choices are clear-cut)."""
    gen = torch.Generator().manual_seed(seed)
    h, inter, vocab = config["hidden_size"], config["intermediate_size"], config["vocab_size"]
    heads, kv = config["num_attention_heads"], config["num_key_value_heads"]
    head_dim = h // heads
    packed = (heads + 2 * kv) * head_dim

    def rand(*shape: int, scale: float = 0.3) -> torch.Tensor:
        return torch.randn(*shape, generator=gen) * scale

    weights = {
        "model.tok_embeddings.weight": rand(vocab, h, scale=1.0),
        "model.norm.weight": 1 + rand(h, scale=0.1),
        "output.weight": rand(vocab, h),
    }
    for i in range(config["num_hidden_layers"]):
        p = f"model.layers.{i}."
        weights |= {
            p + "attention.wqkv.weight": rand(packed, h),
            p + "attention.wo.weight": rand(h, heads * head_dim),
            p + "feed_forward.w1.weight": rand(inter, h),
            p + "feed_forward.w3.weight": rand(inter, h),
            p + "feed_forward.w2.weight": rand(h, inter),
            p + "attention_norm.weight": 1 + rand(h, scale=0.1),
            p + "ffn_norm.weight": 1 + rand(h, scale=0.1),
        }
        if config.get("bias", True):
            weights |= {p + "attention.wqkv.bias": rand(packed), p + "attention.wo.bias": rand(h)}
    return weights


def save_shards(weights: dict[str, torch.Tensor], folder: Path, fmt: str, dtype: torch.dtype) -> None:
    """Two shards plus an index, as ``save_pretrained`` (safetensors) or XTuner's ``convert merge`` (.bin) write."""
    names = sorted(weights)
    halves = [names[: len(names) // 2], names[len(names) // 2 :]]
    stem, index = (
        ("model", "model.safetensors.index.json")
        if fmt == "safetensors"
        else ("pytorch_model", "pytorch_model.bin.index.json")
    )
    weight_map = {}
    for n, part in enumerate(halves, 1):
        file = f"{stem}-{n:05d}-of-00002.{'safetensors' if fmt == 'safetensors' else 'bin'}"
        shard = {k: weights[k].to(dtype).contiguous() for k in part}
        if fmt == "safetensors":
            save_file(shard, folder / file, metadata={"format": "pt"})
        else:
            torch.save(shard, folder / file)
        weight_map |= dict.fromkeys(part, file)
    (folder / index).write_text(json.dumps({"metadata": {}, "weight_map": weight_map}), encoding="utf-8")


def write_internlm2_checkpoint(
    folder: Path,
    vocab: int,
    *,
    heads: int = 4,
    kv_heads: int = 2,
    bias: bool | None = True,
    fmt: str = "safetensors",
    dtype: torch.dtype = torch.float32,
    rope_scaling: dict | None = None,
    max_positions: int = 64,
    seed: int = 0,
) -> dict:
    """A tiny InternLM2-format checkpoint (config, sharded weights, remote-code files that must never run)."""
    folder.mkdir(parents=True, exist_ok=True)
    config = internlm2_config(
        vocab, heads=heads, kv_heads=kv_heads, bias=bias, rope_scaling=rope_scaling, max_positions=max_positions
    )
    config["torch_dtype"] = str(dtype).removeprefix("torch.")
    (folder / "config.json").write_text(json.dumps(config, indent=2), encoding="utf-8")
    for name in ("modeling_internlm2.py", "configuration_internlm2.py", "tokenization_internlm2.py"):
        (folder / name).write_text(REMOTE_CODE, encoding="utf-8")
    save_shards(random_internlm2_weights(config, seed), folder, fmt, dtype)
    return config


def write_xtuner_merged(folder: Path, favour: str | None = None) -> Path:
    """fp16 .bin shards, auto_map, remote-code files, InternLM2's tokenizer files and generation_config.json;
    ``favour`` makes that token the model's every greedy choice."""
    write_sentencepiece_tokenizer(folder, add_dummy_prefix=True)
    tokenizer_config = json.loads((folder / "tokenizer_config.json").read_text(encoding="utf-8"))
    vocab = 1 + max(int(i) for i in tokenizer_config["added_tokens_decoder"])
    write_internlm2_checkpoint(
        folder, vocab, heads=4, kv_heads=2, bias=False, fmt="bin", dtype=torch.float16, max_positions=4096
    )
    im_end = next(int(i) for i, t in tokenizer_config["added_tokens_decoder"].items() if t["content"] == "<|im_end|>")
    generation = {"bos_token_id": 1, "eos_token_id": [2, im_end], "pad_token_id": 2}
    (folder / "generation_config.json").write_text(json.dumps(generation), encoding="utf-8")
    if favour:  # every embedding gets a large first component, and only `favour`'s output row reads it
        token = next(int(i) for i, t in tokenizer_config["added_tokens_decoder"].items() if t["content"] == favour)
        for shard in folder.glob("pytorch_model-*.bin"):
            weights = torch.load(shard, weights_only=True)
            if "model.tok_embeddings.weight" in weights:
                weights["model.tok_embeddings.weight"][:, 0] = 100
            if "output.weight" in weights:
                weights["output.weight"][:, 0] = 0
                weights["output.weight"][token, 0] = 10
            torch.save(weights, shard)
    return folder
