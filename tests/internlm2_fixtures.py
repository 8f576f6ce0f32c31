"""Tiny InternLM2-shaped tokenizer folders for tests: a sentencepiece BPE model trained on made-up text."""

from __future__ import annotations

import io
import json
import random
from pathlib import Path
from typing import Any

import sentencepiece as spm
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
