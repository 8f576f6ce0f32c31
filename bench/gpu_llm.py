"""GPU benchmark of llm.py's local backend on a random-weight model of InternLM2-7B's shape.

Writes a checkpoint in InternLM2's own layout (packed ``wqkv``, ``auto_map``, sentencepiece tokenizer) with
InternLM2-7B's dimensions (hidden 4096, 32 layers, 32 heads, 8 KV heads, intermediate 14336, vocab 92544) and
random bf16 weights, then loads it through ``llm.LocalTransformersChat`` (the native InternLM2 loader, no remote
code) in bf16 and in 4-bit (bitsandbytes nf4). For a ~2k-token prompt and 128 new tokens it prints time to first
token, decode tokens/s and peak GPU memory, next to plain ``model.generate`` on the same loaded model.
Random weights give random text; speed and memory match the real model's shape.

    python bench/gpu_llm.py                 # needs CUDA (and bitsandbytes for the 4-bit row); ~15 GB disk
    python bench/gpu_llm.py --tiny          # smoke test of this script with a tiny model, CPU is fine

Without CUDA (and without --tiny) it says so and exits 0. Results also go to bench/out/gpu_llm.json.
"""

from __future__ import annotations

import argparse
import gc
import importlib.util
import json
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
from _common import write_random_internlm2  # noqa: E402

from novelchat import models as llm  # noqa: E402
from novelchat.models.internlm2 import loader as internlm2  # noqa: E402

INTERNLM2_7B = {
    "hidden_size": 4096,
    "num_hidden_layers": 32,
    "num_attention_heads": 32,
    "num_key_value_heads": 8,
    "intermediate_size": 14336,
    "vocab_size": 92544,
    "max_position_embeddings": 32768,
    "rope_theta": 1_000_000.0,
}
TINY = {**INTERNLM2_7B, "hidden_size": 64, "num_hidden_layers": 2, "num_attention_heads": 4, "num_key_value_heads": 2}
TINY.update(intermediate_size=128, vocab_size=2000)


def prompt_of(tokenizer, tokens: int) -> str:
    """A user message of about ``tokens`` tokens."""
    piece = "林守拙是哪天夜里失踪的？望河楼的灯为什么灭了？The lamp at the river went dark that night. "
    per_piece = len(tokenizer(piece, add_special_tokens=False).input_ids)
    return piece * max(1, tokens // per_piece)


class Clock:
    """A ``generate`` streamer that only notes when the first new token and the end arrive."""

    def __init__(self) -> None:
        self.calls, self.first_at, self.end_at = 0, 0.0, 0.0

    def put(self, value: torch.Tensor) -> None:
        self.calls += 1
        if self.calls == 2:  # call 1 is the prompt
            self.first_at = time.perf_counter()

    def end(self) -> None:
        self.end_at = time.perf_counter()


def in_thread(fn: Callable[[], Any]) -> Any:
    """Run ``fn`` in a worker thread, as llm.py runs generate (on a CPU, torch's threading differs there)."""
    box: dict[str, Any] = {}
    worker = threading.Thread(target=lambda: box.update(result=fn()))
    worker.start()
    worker.join()
    return box["result"]


def sync() -> None:
    if torch.cuda.is_available():
        torch.cuda.synchronize()


def reset_peak() -> None:
    gc.collect()
    if torch.cuda.is_available():
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats()


def peak_gb() -> float | None:
    return torch.cuda.max_memory_allocated() / 1e9 if torch.cuda.is_available() else None


def row(mode: str, path: str, ttft: float, total: float, new_tokens: int, prompt_tokens: int) -> dict:
    decode = (new_tokens - 1) / (total - ttft) if new_tokens > 1 and total > ttft else float("nan")
    return {
        "mode": mode,
        "path": path,
        "prompt_tokens": prompt_tokens,
        "new_tokens": new_tokens,
        "ttft_s": ttft,
        "decode_tok_s": decode,
        "peak_gpu_gb": peak_gb(),
    }


def bench_mode(folder: Path, four_bit: bool, prompt: str, new_tokens: int) -> list[dict]:
    """Load through llm.py, then time llm.py's streaming and plain generate on the same model."""
    llm.model_cache().clear()
    reset_peak()
    started = time.perf_counter()
    chat = llm.LocalTransformersChat(
        model_path=str(folder), load_in_4bit=four_bit, temperature=0, max_new_tokens=new_tokens, timeout=600
    )
    sync()
    load_s = time.perf_counter() - started
    model, tokenizer = chat.hf_model, chat.tokenizer
    quantised = any("4bit" in type(m).__name__ for m in model.modules())
    mode = ("nf4" if quantised else str(model.dtype).removeprefix("torch.")) + f" on {model.device.type}"
    weights = torch.cuda.memory_allocated() / 1e9 if torch.cuda.is_available() else None
    on_gpu = f"; {weights:.2f} GB on the GPU" if weights is not None else ""
    print(f"\n{mode}: loaded in {load_s:.1f} s ({chat.load_note}){on_gpu}", flush=True)

    text = tokenizer.apply_chat_template(
        [{"role": "user", "content": prompt}], add_generation_prompt=True, tokenize=False
    )
    inputs = tokenizer(text, return_tensors="pt", add_special_tokens=False).to(model.device)
    n_prompt = inputs["input_ids"].shape[-1]
    model.generate(**inputs, max_new_tokens=4, do_sample=False)  # warm-up: kernels, allocator

    reset_peak()
    started = time.perf_counter()
    first, reply = None, None
    for chunk in chat.stream(prompt):
        if chunk.content and first is None:
            first = time.perf_counter() - started
        reply = chunk if reply is None else reply + chunk
    sync()
    total = time.perf_counter() - started
    results = [row(mode, "llm.py stream", first or total, total, reply.usage_metadata["output_tokens"], n_prompt)]

    reset_peak()
    clock = Clock()
    started = time.perf_counter()
    output = in_thread(lambda: model.generate(**inputs, max_new_tokens=new_tokens, do_sample=False, streamer=clock))
    sync()
    n_new = output.shape[-1] - n_prompt
    results.append(row(mode, "model.generate", clock.first_at - started, clock.end_at - started, n_new, n_prompt))
    for result in results:
        result["load_s"], result["weights_gb"] = load_s, weights
    return results  # the model is freed with this frame and unloaded by the next call


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--prompt-tokens", type=int, default=2048, help="prompt length in tokens (default 2048)")
    parser.add_argument("--new-tokens", type=int, default=128, help="tokens to generate (default 128)")
    parser.add_argument("--tiny", action="store_true", help="a tiny model instead of 7B: checks the script, any device")
    parser.add_argument("--dir", type=Path, default=None, help="where to save the random model (default: a temp dir)")
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "out" / "gpu_llm.json")
    args = parser.parse_args(argv)

    if not torch.cuda.is_available() and not args.tiny:
        print("bench/gpu_llm.py needs a CUDA GPU (bf16 and bitsandbytes 4-bit); none here, so nothing to measure.")
        return 0
    shape = TINY if args.tiny else INTERNLM2_7B
    modes = [False]
    if not torch.cuda.is_available():
        print("no CUDA: the 4-bit row is skipped (llm.py loads float32 on CPU)")
    elif importlib.util.find_spec("bitsandbytes") is None:
        print("bitsandbytes is not installed: the 4-bit row is skipped (pip install bitsandbytes)")
    else:
        modes.append(True)

    results = []
    with tempfile.TemporaryDirectory(dir=args.dir, prefix="novelchat-bench-") as tmp:
        started = time.perf_counter()
        write_random_internlm2(Path(tmp), shape)
        print(
            f"wrote a random {'tiny' if args.tiny else 'InternLM2-7B-shaped'} checkpoint (InternLM2 layout) in "
            f"{time.perf_counter() - started:.0f} s",
            flush=True,
        )
        prompt = prompt_of(internlm2.load_tokenizer(tmp), args.prompt_tokens)
        for four_bit in modes:
            results += bench_mode(Path(tmp), four_bit, prompt, args.new_tokens)

    print(
        f"\n{'mode':<14} {'path':<15} {'prompt':>6} {'new':>4} {'TTFT s':>7} {'decode tok/s':>12} {'peak GPU GB':>11}"
    )
    for r in results:
        peak = f"{r['peak_gpu_gb']:.2f}" if r["peak_gpu_gb"] is not None else "-"
        print(
            f"{r['mode']:<14} {r['path']:<15} {r['prompt_tokens']:>6} {r['new_tokens']:>4} "
            f"{r['ttft_s']:>7.3f} {r['decode_tok_s']:>12.1f} {peak:>11}"
        )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    device_name = torch.cuda.get_device_name() if torch.cuda.is_available() else "cpu"
    args.out.write_text(json.dumps({"device": device_name, "results": results}, indent=2), encoding="utf-8")
    print(f"\nwritten to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
