"""``novelchat finetune`` (or ``python finetune.py``): a character's dialogue dataset from an indexed book, then
LoRA / QLoRA training on it.

    python finetune.py data --book 西游记 --character 孙悟空 -o data/wukong.jsonl
    python finetune.py train data/wukong.jsonl --base internlm/internlm2_5-1_8b-chat -o out/wukong --merge

The dataset is :mod:`novelchat.finetune.data`'s, the training :mod:`novelchat.finetune.train`'s; both are imported
only when their subcommand runs (``--help`` stays fast)."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path

from novelchat.errors import NovelChatError


def export(args: argparse.Namespace) -> int:
    """``finetune.py data``: write the character's dialogue (and QA pairs with a chat model) and print stats."""
    from novelchat import models as llm
    from novelchat.config import get_settings
    from novelchat.finetune import data as finetune_data
    from novelchat.retrieval.library import Library
    from novelchat.roleplay.book_cast import book_cast

    settings = get_settings()
    library = Library(settings.with_(persist_dir=args.persist) if args.persist else settings)
    cast = book_cast(library, args.book)
    persona, others = finetune_data.find_cast(args.character, args.book, settings.characters_dir, cast)
    text = finetune_data.book_text(library, args.book, args.max_chapter)
    system = finetune_data.system_prompt(persona, args.max_chapter)
    examples = finetune_data.dialogue_examples(text, persona, system, others)
    per_name = finetune_data.lines_per_name(persona, cast, args.max_chapter)
    print(f"names: {'、'.join(f'{name} {n}' for name, n in per_name.items()) or persona.name} (lines under each name)")
    print(f"dialogue: {len(examples)} lines of {persona.name} (card: {'yes' if persona.description else 'none'})")
    if len(examples) < args.min_lines:
        print(f"台词太少，未写入 / too few lines to train on: {len(examples)} of {persona.name} in 《{args.book}》 "
              f"(at least {args.min_lines}: --min-lines); nothing written", file=sys.stderr)
        return 1
    if args.qa:
        chat = llm.load_chat_model(settings)
        if chat is None:
            print("no chat model configured (NOVELCHAT_LLM_*): QA pairs skipped, dialogue only")
        else:
            qa = finetune_data.qa_examples(library, args.book, chat, args.max_chapter, args.qa)
            print(f"QA pairs: {len(qa)}")
            examples += qa
    if not examples:
        print(
            f"没有可用的例子 / no examples: {persona.name} has no attributed lines in 《{args.book}》", file=sys.stderr
        )
        return 1
    stats = finetune_data.write_dataset(examples, args.output, args.format)
    print(f"{args.output}: {stats.line()}")
    print("sample:", json.dumps(examples[0][1:], ensure_ascii=False, indent=1))
    return 0


def train(args: argparse.Namespace) -> int:
    """``finetune.py train``: LoRA-train, print the losses and where the adapter (and merged model) went."""
    from novelchat.finetune.train import train as lora_train

    result = lora_train(
        args.data,
        args.base,
        args.output,
        epochs=args.epochs,
        learning_rate=args.learning_rate,
        lora_rank=args.lora_rank,
        batch_size=args.batch_size,
        gradient_accumulation=args.gradient_accumulation,
        max_length=args.max_length,
        four_bit=args.four_bit,
        merge=args.merge,
    )
    losses = result.train_losses
    print(f"{result.examples} examples; loss {losses[0]:.3f} → {losses[-1]:.3f}; adapter: {result.adapter}")
    if result.eval_losses:
        print(f"held-out loss: {' → '.join(f'{x:.3f}' for x in result.eval_losses)}")
    if result.merged:
        print(f"merged model: {result.merged}  (NOVELCHAT_LLM_MODEL={result.merged})")
    return 0


def parser() -> argparse.ArgumentParser:
    """The command line: ``data`` (export a dataset) and ``train`` (LoRA on it)."""
    parser = argparse.ArgumentParser(prog="finetune.py", description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    data = commands.add_parser("data", help="export a character's dialogue (and QA pairs) from an indexed book")
    data.add_argument("--book", required=True, help="an indexed book (title or file name)")
    data.add_argument("--character", required=True,
                      help="the character: any name the book uses (a card's own aliases win)")
    data.add_argument("-o", "--output", type=Path, required=True, help="output file (.jsonl, or .json for xtuner)")
    data.add_argument("--format", choices=["messages", "xtuner"], default="messages")
    data.add_argument("--max-chapter", type=int, default=None, help="use nothing past this chapter")
    data.add_argument("--min-lines", type=int, default=10, help="refuse (write nothing) with fewer lines than this")
    data.add_argument("--qa", type=int, default=0, help="also this many QA pairs written by the chat model")
    data.add_argument("--persist", type=Path, default=None, help="index folder (default NOVELCHAT_PERSIST_DIR)")
    run = commands.add_parser("train", help="LoRA / QLoRA fine-tuning on a messages JSONL")
    run.add_argument("data", type=Path, help="messages JSONL (from `finetune.py data`)")
    run.add_argument("--base", required=True, help="base chat model: folder or hub id (InternLM2 loads natively)")
    run.add_argument("-o", "--output", type=Path, required=True, help="output folder (checkpoints, adapter, merged)")
    run.add_argument("--epochs", type=float, default=3.0)
    run.add_argument("--learning-rate", type=float, default=2e-4)
    run.add_argument("--lora-rank", type=int, default=16)
    run.add_argument("--batch-size", type=int, default=1)
    run.add_argument("--gradient-accumulation", type=int, default=4)
    run.add_argument("--max-length", type=int, default=1024, help="tokens per example (longer ones are cut)")
    run.add_argument("--no-4bit", dest="four_bit", action="store_false", help="on CUDA: LoRA on a 16-bit base")
    run.add_argument("--merge", action="store_true", help="also write OUT/merged, a full model folder")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    failed = "导出失败 / Export failed" if args.command == "data" else "训练失败 / Training failed"
    try:
        return export(args) if args.command == "data" else train(args)
    except NovelChatError as error:  # no index, no chat model, …: one line
        print(f"{failed}: {error.friendly}", file=sys.stderr)
    except (OSError, ValueError) as error:  # a missing file, a bad dataset or base model: one line
        print(f"{failed}: {error}", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
