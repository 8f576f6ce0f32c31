"""The fine-tuning path at a real model's shape: the sample novella → a character's dialogue → LoRA → merged model.

Exports 林晓's lines from the novella (chapters 1..N) with ``finetune.py data``'s functions, LoRA-trains a real base
model on them with ``finetune.train`` (QLoRA on CUDA, float32 LoRA on a CPU) and prints the loss curve, the held-out
loss, training tokens/s and peak memory; then merges and asks the merged model one question through ``llm.py``.
Baseline in the same run: the loss of the first step (the base model's own).

    python bench/finetune_lora.py --examples 8              # SmolLM2-135M on a CPU: ~20 training tokens/s on 2 cores
    python bench/finetune_lora.py --base internlm/internlm2_5-1_8b-chat --chapters 8 --epochs 2   # on a GPU box
"""

from __future__ import annotations

import argparse
import resource
import shutil
import sys
import tempfile
from pathlib import Path

import _common as C

from novelchat import models as llm
from novelchat.finetune import data as finetune_data
from novelchat.finetune import train as finetune
from novelchat.index.build import build_index
from novelchat.retrieval.library import Library
from novelchat.roleplay.cards import CHARACTERS_DIR


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--base", default="smollm2", help="base chat model (default smollm2, the GGUF on PyPI)")
    parser.add_argument("--chapters", type=int, default=1, help="use the novella up to this chapter")
    parser.add_argument("--epochs", type=float, default=2.0)
    parser.add_argument("--max-length", type=int, default=2048)
    parser.add_argument("--examples", type=int, default=None, help="use only the first N examples")
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="bench-lora-") as tmp:
        folder = Path(tmp)
        corpus = folder / "corpus"
        corpus.mkdir()
        shutil.copy(C.REPO / "corpus" / "青石镇的灯.txt", corpus)
        settings = C.settings_for(corpus, folder / "index")
        build_index(settings, dense=False)
        persona, others = finetune_data.find_cast("林晓", "青石镇的灯", CHARACTERS_DIR)
        text = finetune_data.book_text(Library(settings), "青石镇的灯", args.chapters)
        examples = finetune_data.dialogue_examples(
            text, persona, finetune_data.system_prompt(persona, args.chapters), others
        )[: args.examples]
        data = folder / "lin.jsonl"
        stats = finetune_data.write_dataset(examples, data, "messages")
        print(f"dataset: {stats.line()}", flush=True)

        _, tokenizer = finetune.load_base(args.base, four_bit=True)
        tokens = sum(len(tokenizer.apply_chat_template(e, tokenize=True)) for e in examples)
        result = finetune.train(
            data,
            args.base,
            folder / "out",
            epochs=args.epochs,
            batch_size=2,
            gradient_accumulation=2,
            max_length=args.max_length,
            merge=True,
        )
        chat = llm.load_chat_model(
            C.settings_for(
                corpus,
                folder / "index",
                llm_model=str(result.merged),
                llm_temperature=0.0,
                llm_max_new_tokens=32,
                llm_load_in_4bit=False,
            )
        )
        reply = chat.invoke([("system", finetune_data.system_prompt(persona, args.chapters)), ("human", "你爹呢？")])

    train_examples = result.examples - max(1, round(0.1 * result.examples)) if result.eval_losses else result.examples
    print(f"\nbase {args.base}; {result.examples} examples ({train_examples} trained), {args.epochs:g} epochs")
    losses = result.train_losses
    print(f"train loss: {losses[0]:.3f} → {losses[-1]:.3f} ({len(losses)} logged steps)")
    if result.eval_losses:
        print(f"held-out loss by epoch: {' → '.join(f'{x:.3f}' for x in result.eval_losses)}")
    rate = tokens * args.epochs * train_examples / result.examples / result.seconds
    print(f"training time {result.seconds:.0f} s; ≈ {rate:.0f} tokens/s")
    print(f"peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6:.2f} GB")
    print(f"merged model answers 你爹呢？ → {reply.content!r}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
