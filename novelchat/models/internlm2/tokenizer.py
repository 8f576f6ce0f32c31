"""A Hugging Face fast tokenizer rebuilt from a sentencepiece BPE ``tokenizer.model`` (InternLM2 / InternLM2.5).

No remote code and no transformers fallback conversion (that one drops the dummy-prefix ``▁``): the ``tokenizers``
pipeline is built from the proto itself, so ids equal ``sp.encode`` of each text segment between special tokens
(``tokenizer_config.json``'s ``added_tokens_decoder``, which renames proto pieces in place, keeping their ids).
The proto's other user-defined pieces are added tokens too: the text after one gets its own dummy prefix, where
sentencepiece would give none. Merges producing pieces of equal score are ranked by id, sentencepiece takes the
leftmost pair; trained BPE models have distinct scores.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from sentencepiece import sentencepiece_model_pb2
from tokenizers import AddedToken, Regex, Tokenizer, decoders, normalizers
from tokenizers.models import BPE
from transformers import PreTrainedTokenizerFast

SPACE = "▁"
ModelProto = sentencepiece_model_pb2.ModelProto
NormalizerSpec = sentencepiece_model_pb2.NormalizerSpec
TrainerSpec = sentencepiece_model_pb2.TrainerSpec
Piece = ModelProto.SentencePiece


def load_sentencepiece_tokenizer(folder: str | Path) -> PreTrainedTokenizerFast:
    """The tokenizer of a checkpoint folder holding ``tokenizer.model`` and ``tokenizer_config.json``."""
    folder = Path(folder)
    proto = read_proto(folder / "tokenizer.model")
    config = _read_json(folder / "tokenizer_config.json")
    renamed = {int(i): _content(entry) for i, entry in config.get("added_tokens_decoder", {}).items()}
    names = [renamed.get(i, piece.piece) for i, piece in enumerate(proto.pieces)]

    tokenizer = Tokenizer(_bpe(proto, names))
    tokenizer.normalizer = _normalizer(proto.normalizer_spec)
    tokenizer.decoder = _decoder(proto.normalizer_spec.add_dummy_prefix)
    tokenizer.add_special_tokens([AddedToken(names[i], special=True, normalized=False) for i in sorted(renamed)])
    user_defined = [i for i, piece in enumerate(proto.pieces) if piece.type == Piece.USER_DEFINED and i not in renamed]
    tokenizer.add_tokens([AddedToken(names[i], special=False, normalized=False) for i in user_defined])
    return PreTrainedTokenizerFast(tokenizer_object=tokenizer, **_wrapper_kwargs(folder, proto, names, config))


def read_proto(path: Path) -> ModelProto:
    """A BPE sentencepiece model proto; ValueError (one line) for what this module cannot reproduce."""
    proto = ModelProto()
    proto.ParseFromString(path.read_bytes())
    model_type = proto.trainer_spec.model_type
    if model_type != TrainerSpec.BPE:
        kind = TrainerSpec.ModelType.Name(model_type)
        raise ValueError(f"{path}: sentencepiece model type is {kind}, only BPE is supported")
    if proto.trainer_spec.treat_whitespace_as_suffix:
        raise ValueError(f"{path}: treat_whitespace_as_suffix is not supported")
    if proto.normalizer_spec.precompiled_charsmap:  # tokenizers' Precompiled maps "\r\n" to one space, not two
        rule = proto.normalizer_spec.name
        raise ValueError(f"{path}: normalization rule {rule!r} is not supported, only identity")
    return proto


def _read_json(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}


def _content(token: str | dict[str, Any]) -> str:
    """A token as tokenizer_config.json writes it: a plain string or an AddedToken dict."""
    return token["content"] if isinstance(token, dict) else token


def _bpe(proto: ModelProto, names: list[str]) -> BPE:
    vocab = {name: i for i, name in enumerate(names)}
    if len(vocab) != len(names):
        raise ValueError("tokenizer_config.json renames a piece to a string the vocabulary already has")
    return BPE(
        vocab=vocab,
        merges=_merges(proto, names, vocab),
        unk_token=names[proto.trainer_spec.unk_id],
        byte_fallback=proto.trainer_spec.byte_fallback,
        fuse_unk=True,
    )


def _merges(proto: ModelProto, names: list[str], vocab: dict[str, int]) -> list[tuple[str, str]]:
    """sentencepiece merges any adjacent pair whose concatenation is a normal piece, highest score first."""
    results = [i for i, piece in enumerate(proto.pieces) if piece.type == Piece.NORMAL and names[i] == piece.piece]
    results.sort(key=lambda i: (-proto.pieces[i].score, i))
    return [
        (names[i][:cut], names[i][cut:])
        for i in results
        for cut in range(1, len(names[i]))
        if names[i][:cut] in vocab and names[i][cut:] in vocab
    ]


def _normalizer(spec: NormalizerSpec) -> normalizers.Normalizer:
    """sentencepiece's identity normalizer: extra-space removal, dummy prefix, then spaces to ``▁``."""
    steps: list[normalizers.Normalizer] = []
    if spec.remove_extra_whitespaces:  # at the end sentencepiece also drops "▁" that was in the text
        steps += [normalizers.Replace(Regex(r"\A +|[ ▁]+\z"), ""), normalizers.Replace(Regex(" {2,}"), " ")]
    if spec.add_dummy_prefix:
        steps.append(normalizers.Prepend(SPACE))
    steps.append(normalizers.Replace(" ", SPACE))
    return normalizers.Sequence(steps)


def _decoder(add_dummy_prefix: bool) -> decoders.Decoder:
    steps = [decoders.Replace(SPACE, " "), decoders.ByteFallback(), decoders.Fuse()]
    if add_dummy_prefix:
        steps.append(decoders.Strip(content=" ", left=1, right=0))
    return decoders.Sequence(steps)


def _wrapper_kwargs(folder: Path, proto: ModelProto, names: list[str], config: dict[str, Any]) -> dict[str, Any]:
    """Named special tokens (the config's, else the proto's), BOS/EOS adding, chat template, max length."""
    spec = proto.trainer_spec
    ids = {"unk_token": spec.unk_id, "bos_token": spec.bos_id, "eos_token": spec.eos_id, "pad_token": spec.pad_id}
    kwargs: dict[str, Any] = {role: names[i] for role, i in ids.items() if i >= 0}
    kwargs |= {role: _content(config[role]) for role in ids if config.get(role)}
    template_file = folder / "chat_template.jinja"
    template = template_file.read_text(encoding="utf-8") if template_file.exists() else config.get("chat_template")
    if template:
        kwargs["chat_template"] = template
    if "model_max_length" in config:
        kwargs["model_max_length"] = config["model_max_length"]
    return kwargs | {
        "add_bos_token": config.get("add_bos_token", True),
        "add_eos_token": config.get("add_eos_token", False),
        "clean_up_tokenization_spaces": False,
    }
