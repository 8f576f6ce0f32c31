"""sentencepiece_bpe: the rebuilt fast tokenizer must give sentencepiece's own ids on fuzzed mixed text."""

from __future__ import annotations

import json
import random
import re
import shutil
from pathlib import Path

import pytest
import sentencepiece as spm
from sentencepiece import sentencepiece_model_pb2
from transformers import LlamaTokenizerFast, PreTrainedTokenizerFast

from novelchat.models.internlm2.tokenizer import load_sentencepiece_tokenizer
from tests.internlm2_fixtures import (
    CHINESE_WORDS,
    ENGLISH_WORDS,
    PLACEHOLDERS,
    SPARE,
    VOCAB_SIZE,
    write_sentencepiece_tokenizer,
)

FUZZ_COUNT = 1200
RARE_CHINESE = "龘鱻麤爨齉龖靐䶮𠀀𪚥𡃁"  # outside the training text: byte fallback, some 4-byte UTF-8
EMOJI = ["😀", "🐉", "🎉", "👍🏽", "👨‍👩‍👧", "❤️"]
FULL_WIDTH = list("，。！？：；（）「」『』【】—…・　～＂＃％＆")  # includes U+3000, the ideographic space
SPACING = [" ", "  ", "   ", "\n", "\n\n", "\t", " \t ", "\r\n", "\u00a0"]


@pytest.fixture(scope="session", params=[True, False], ids=["dummy_prefix", "no_dummy_prefix"])
def folder(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp(f"spm_prefix_{request.param}")
    write_sentencepiece_tokenizer(path, add_dummy_prefix=request.param)
    return path


def _sp(folder: Path) -> spm.SentencePieceProcessor:
    return spm.SentencePieceProcessor(model_file=str(folder / "tokenizer.model"))


def _split_tokens(folder: Path) -> dict[str, int]:
    """The strings the text is split on: the config's special tokens, and the proto's user-defined spare."""
    config = json.loads((folder / "tokenizer_config.json").read_text(encoding="utf-8"))
    specials = {entry["content"]: int(i) for i, entry in config["added_tokens_decoder"].items()}
    return specials | {SPARE: _sp(folder).piece_to_id(SPARE)}


def reference_ids(sp: spm.SentencePieceProcessor, text: str, split_tokens: dict[str, int]) -> list[int]:
    """sentencepiece on each plain segment, the split tokens' ids in between."""
    pattern = "(" + "|".join(re.escape(token) for token in sorted(split_tokens, key=len, reverse=True)) + ")"
    ids: list[int] = []
    for index, part in enumerate(re.split(pattern, text)):
        if index % 2:
            ids.append(split_tokens[part])
        elif part:
            ids += sp.encode(part)
    return ids


def _fuzz_piece(rng: random.Random, specials: list[str]) -> str:
    roll = rng.random()
    if roll < 0.3:
        return rng.choice(CHINESE_WORDS) if rng.random() < 0.7 else rng.choice(RARE_CHINESE)
    if roll < 0.5:
        return rng.choice(ENGLISH_WORDS) if rng.random() < 0.7 else "".join(rng.choices("xyzqjXQ", k=3))
    if roll < 0.6:
        return str(rng.randint(0, 10 ** rng.randint(1, 8)))
    if roll < 0.8:
        return rng.choice(SPACING)
    if roll < 0.9:
        return rng.choice(FULL_WIDTH + EMOJI)
    return rng.choice(specials) if specials else " "


def fuzz_strings(specials: list[str], count: int = FUZZ_COUNT, seed: int = 20261123) -> list[str]:
    """Half plain text, half with special-token strings embedded; leading/trailing spacing is common."""
    rng = random.Random(seed)
    strings = []
    for n in range(count):
        allowed = specials if n % 2 else []
        strings.append("".join(_fuzz_piece(rng, allowed) for _ in range(rng.randint(1, 14))))
    return strings


def _mismatches(tok: PreTrainedTokenizerFast, folder: Path, strings: list[str]) -> list[str]:
    sp, split_tokens = _sp(folder), _split_tokens(folder)
    return [s for s in strings if tok(s, add_special_tokens=False).input_ids != reference_ids(sp, s, split_tokens)]


def test_fuzz_ids_and_decoding_match_sentencepiece(folder: Path) -> None:
    tok = load_sentencepiece_tokenizer(folder)
    strings = fuzz_strings(list(_split_tokens(folder)))
    wrong = _mismatches(tok, folder, strings)
    assert not wrong, f"{len(wrong)} of {len(strings)} strings differ from sentencepiece, e.g. {wrong[:3]!r}"

    plain = [s for s in strings if not any(token in s for token in _split_tokens(folder))]
    unround = [s for s in plain if tok.decode(tok(s, add_special_tokens=False).input_ids) != s]
    assert len(plain) >= FUZZ_COUNT // 2
    assert not unround, f"{len(unround)} of {len(plain)} plain strings do not decode back, e.g. {unround[:3]!r}"


def test_fuzz_hits_byte_fallback_and_spacing(folder: Path) -> None:
    """The fuzz reaches what the pipeline must get right: unknown characters and runs of spaces."""
    tok = load_sentencepiece_tokenizer(folder)
    pieces = {piece for s in fuzz_strings([]) for piece in tok.tokenize(s)}
    assert "<0xF0>" in pieces and "<0xE9>" in pieces  # 4-byte and 3-byte characters through byte fallback
    assert "▁▁" in pieces


def test_naive_pipelines_differ(folder: Path, tmp_path: Path) -> None:
    """The fuzz test can fail: the proto's prefix flag flipped, or transformers' LlamaTokenizerFast, give other ids."""
    proto = sentencepiece_model_pb2.ModelProto()
    proto.ParseFromString((folder / "tokenizer.model").read_bytes())
    proto.normalizer_spec.add_dummy_prefix = not proto.normalizer_spec.add_dummy_prefix
    (tmp_path / "tokenizer.model").write_bytes(proto.SerializeToString())
    shutil.copy(folder / "tokenizer_config.json", tmp_path)

    strings = fuzz_strings(list(_split_tokens(folder)), count=300)
    assert _mismatches(load_sentencepiece_tokenizer(tmp_path), folder, strings)
    assert _mismatches(LlamaTokenizerFast.from_pretrained(folder), folder, strings)


def test_one_bos_no_eos(folder: Path) -> None:
    tok = load_sentencepiece_tokenizer(folder)
    text = "今天 the river 12。"
    plain = tok(text, add_special_tokens=False).input_ids
    assert tok(text).input_ids == [tok.bos_token_id, *plain]
    assert (tok.bos_token, tok.bos_token_id, tok.eos_token, tok.eos_token_id) == ("<s>", 1, "</s>", 2)


def test_special_tokens_keep_the_placeholder_ids(folder: Path) -> None:
    tok = load_sentencepiece_tokenizer(folder)
    top = {name: VOCAB_SIZE - len(PLACEHOLDERS) + i for i, name in enumerate(PLACEHOLDERS.values())}
    assert {name: tok.convert_tokens_to_ids(name) for name in top} == top
    assert top["<|im_start|>"] == VOCAB_SIZE - 1 and top["<|im_end|>"] == VOCAB_SIZE - 2
    assert len(tok) == VOCAB_SIZE  # renamed in place: no id past the proto's
    assert tok.convert_tokens_to_ids("[UNUSED_TOKEN_146]") == tok.unk_token_id
    ids = tok("<|im_start|>user\n你好<|im_end|>", add_special_tokens=False).input_ids
    assert ids[0] == top["<|im_start|>"] and ids[-1] == top["<|im_end|>"]
    assert tok.decode(ids, skip_special_tokens=True).strip() == "user\n你好"


def test_chat_template(folder: Path) -> None:
    tok = load_sentencepiece_tokenizer(folder)
    messages = [{"role": "user", "content": "林守拙是谁？"}]
    prompt = tok.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
    assert prompt == "<s><|im_start|>user\n林守拙是谁？<|im_end|>\n<|im_start|>assistant\n"
    ids = tok.apply_chat_template(messages, tokenize=True, add_generation_prompt=True, return_dict=True)["input_ids"]
    assert ids[:2] == [tok.bos_token_id, tok.convert_tokens_to_ids("<|im_start|>")] and ids.count(tok.bos_token_id) == 1
    assert tok.model_max_length == 32768


def test_chat_template_file_wins(folder: Path, tmp_path: Path) -> None:
    shutil.copytree(folder, tmp_path, dirs_exist_ok=True)
    (tmp_path / "chat_template.jinja").write_text("{{ messages[0]['content'] }}", encoding="utf-8")
    tok = load_sentencepiece_tokenizer(tmp_path)
    assert tok.apply_chat_template([{"role": "user", "content": "hi"}], tokenize=False) == "hi"


def test_remove_extra_whitespaces(tmp_path: Path) -> None:
    write_sentencepiece_tokenizer(tmp_path, add_dummy_prefix=True, remove_extra_whitespaces=True)
    strings = fuzz_strings(list(_split_tokens(tmp_path)), count=300)
    wrong = _mismatches(load_sentencepiece_tokenizer(tmp_path), tmp_path, strings)
    assert not wrong, f"{len(wrong)} of {len(strings)} strings differ from sentencepiece, e.g. {wrong[:3]!r}"


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"model_type": "unigram", "vocab_size": 800}, "model type is UNIGRAM, only BPE is supported"),
        ({"normalization_rule_name": "nmt_nfkc"}, "normalization rule 'nmt_nfkc' is not supported, only identity"),
        ({"treat_whitespace_as_suffix": True}, "treat_whitespace_as_suffix is not supported"),
    ],
    ids=["unigram", "nmt_nfkc", "whitespace_suffix"],
)
def test_unsupported_models_are_refused_in_one_line(tmp_path: Path, options: dict[str, object], message: str) -> None:
    write_sentencepiece_tokenizer(tmp_path, add_dummy_prefix=True, **options)
    with pytest.raises(ValueError, match=message) as error:
        load_sentencepiece_tokenizer(tmp_path)
    assert "\n" not in str(error.value)


def test_a_rename_onto_an_existing_piece_is_refused(folder: Path, tmp_path: Path) -> None:
    shutil.copy(folder / "tokenizer.model", tmp_path)
    config = json.loads((folder / "tokenizer_config.json").read_text(encoding="utf-8"))
    config["added_tokens_decoder"][str(VOCAB_SIZE - 1)]["content"] = "今天"
    (tmp_path / "tokenizer_config.json").write_text(json.dumps(config), encoding="utf-8")
    with pytest.raises(ValueError, match="renames a piece to a string the vocabulary already has"):
        load_sentencepiece_tokenizer(tmp_path)
