"""From a novel to a fine-tuned character: dataset export, LoRA / QLoRA training and merging (peft + TRL).

    python finetune.py data --book 西游记 --character 孙悟空 -o data/wukong.jsonl
    python finetune.py train data/wukong.jsonl --base internlm/internlm2_5-1_8b-chat -o out/wukong --merge

Training data is OpenAI-style ``messages`` JSONL; each example's last message is the reply to learn (the character's
line), everything before it is the prompt, so the loss falls on that reply only (TRL's prompt–completion format).
LoRA covers every linear layer of attention and MLP; on CUDA the base is loaded in 4-bit (QLoRA, as XTuner does),
on a CPU in float32. Checkpoints are saved as it goes and a re-run resumes from the last one. ``--merge`` writes
``OUT/merged``: a full model folder (InternLM2 bases as standard Llama) that ``NOVELCHAT_LLM_MODEL`` loads.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from novelchat.roleplay.cards import Persona

log = logging.getLogger(__name__)
ADAPTER_DIR, CHECKPOINT_DIR, MERGED_DIR = "adapter", "checkpoints", "merged"


@dataclass
class TrainResult:
    """Where the adapter (and merged model) went, and the losses seen."""

    adapter: Path
    merged: Path | None
    train_losses: list[float]
    eval_losses: list[float]
    examples: int
    seconds: float


def read_examples(path: Path) -> list[list[dict[str, str]]]:
    """The ``messages`` lists of a JSONL file; each must end with an assistant message (the reply to learn)."""
    examples = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        messages = json.loads(line)["messages"]
        if not messages or messages[-1]["role"] != "assistant":
            raise ValueError(f"{path}:{number}: the last message must be the assistant's reply")
        examples.append(messages)
    if not examples:
        raise ValueError(f"{path}: no examples")
    return examples


def prompt_completion(messages: list[dict[str, str]]) -> dict[str, list[dict[str, str]]]:
    """TRL's conversational prompt–completion example: loss on the completion only."""
    return {"prompt": messages[:-1], "completion": messages[-1:]}


def load_base(base: str, four_bit: bool) -> tuple[Any, Any]:
    """Model and tokenizer to train: InternLM2 natively (llm.py's loader), 4-bit only on CUDA."""
    import torch

    from novelchat.models import chat as llm

    mode = ("nf4" if four_bit else "16bit") if torch.cuda.is_available() else "cpu"
    kwargs = llm.load_kwargs(mode)
    source = llm.model_source(base)
    tokenizer, model = llm.from_pretrained(source, llm.read_model_config(source), kwargs)
    if source.lower().endswith(".gguf"):  # dequantised to float32 on load: plain weights, but still marked
        model.hf_quantizer, model.is_quantized = None, False  # as "GGUF-quantised", which the trainer refuses
        model.config.quantization_config = None
    if not tokenizer.chat_template:
        raise ValueError(f"{base} has no chat template: fine-tune a chat model")
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    return model, tokenizer


def train(
    data: Path,
    base: str,
    output: Path,
    *,
    epochs: float = 3.0,
    learning_rate: float = 2e-4,
    lora_rank: int = 16,
    batch_size: int = 1,
    gradient_accumulation: int = 4,
    max_length: int = 1024,
    eval_fraction: float = 0.1,
    four_bit: bool = True,
    merge: bool = False,
    save_steps: int = 50,
    seed: int = 0,
) -> TrainResult:
    """LoRA-train ``base`` on ``data``, resuming from ``output``'s last checkpoint; optionally merge."""
    from datasets import Dataset
    from peft import LoraConfig
    from trl import SFTConfig, SFTTrainer

    examples = [prompt_completion(m) for m in read_examples(data)]
    dataset = Dataset.from_list(examples)
    split = None
    if eval_fraction > 0 and len(examples) >= 10:
        split = dataset.train_test_split(test_size=eval_fraction, seed=seed)
    model, tokenizer = load_base(base, four_bit)
    checkpoints = output / CHECKPOINT_DIR
    config = SFTConfig(
        output_dir=str(checkpoints),
        num_train_epochs=epochs,
        learning_rate=learning_rate,
        per_device_train_batch_size=batch_size,
        per_device_eval_batch_size=batch_size,
        gradient_accumulation_steps=gradient_accumulation,
        max_length=max_length,
        completion_only_loss=True,
        logging_steps=1,
        save_steps=save_steps,
        save_total_limit=2,
        eval_strategy="epoch" if split else "no",
        report_to=[],
        seed=seed,
        use_cpu=not _cuda(),
        disable_tqdm=False,
    )
    lora = LoraConfig(
        r=lora_rank, lora_alpha=2 * lora_rank, lora_dropout=0.05, target_modules="all-linear", task_type="CAUSAL_LM"
    )
    trainer = SFTTrainer(
        model=model,
        args=config,
        train_dataset=split["train"] if split else dataset,
        eval_dataset=split["test"] if split else None,
        processing_class=tokenizer,
        peft_config=lora,
    )
    resume = checkpoints.is_dir() and any(checkpoints.glob("checkpoint-*"))
    if resume:
        log.info("resuming from the last checkpoint in %s", checkpoints)
    output_metrics = trainer.train(resume_from_checkpoint=resume or None).metrics
    adapter = output / ADAPTER_DIR
    trainer.save_model(str(adapter))
    tokenizer.save_pretrained(adapter)
    history = trainer.state.log_history
    result = TrainResult(
        adapter=adapter,
        merged=merge_adapter(base, adapter, output / MERGED_DIR) if merge else None,
        train_losses=[h["loss"] for h in history if "loss" in h],
        eval_losses=[h["eval_loss"] for h in history if "eval_loss" in h],
        examples=len(examples),
        seconds=output_metrics.get("train_runtime", 0.0),
    )
    return result


def merge_adapter(base: str, adapter: Path, target: Path) -> Path:
    """Base + LoRA adapter → one full-precision model folder (InternLM2 bases written as standard Llama)."""
    from peft import PeftModel

    from novelchat.models.internlm2 import loader as internlm2

    model, tokenizer = load_base(base, four_bit=False)
    merged = PeftModel.from_pretrained(model, str(adapter)).merge_and_unload()
    if isinstance(merged, internlm2.InternLM2AsLlamaForCausalLM):
        merged = internlm2.as_plain_llama(merged)
    merged.save_pretrained(target)
    tokenizer.save_pretrained(target)
    return target


def _cuda() -> bool:
    import torch

    return torch.cuda.is_available()


def find_cast(character: str, book: str, folder: Path) -> tuple[Persona, list[list[str]]]:
    """The character's card (by name or alias; else a bare card with the name) and the names of the book's other
    characters that have cards (speaker attribution tells them apart)."""
    from novelchat.roleplay.cards import load_personas

    cards = [p for p in load_personas(folder) if p.book in ("", book)]
    persona = next((p for p in cards if character in p.names), Persona(name=character, book=book))
    return persona, [p.names for p in cards if p.book == book and p.name != persona.name]


def export(args: argparse.Namespace) -> int:
    """``finetune.py data``: write the character's dialogue (and QA pairs with a chat model) and print stats."""
    from novelchat.finetune import data as finetune_data
    from novelchat.models import chat as llm
    from novelchat.config import get_settings
    from novelchat.retrieval.library import Library

    settings = get_settings()
    library = Library(settings.with_(persist_dir=args.persist) if args.persist else settings)
    persona, others = find_cast(args.character, args.book, settings.characters_dir)
    text = finetune_data.book_text(library, args.book, args.max_chapter)
    system = finetune_data.system_prompt(persona, args.max_chapter)
    examples = finetune_data.dialogue_examples(text, persona, system, others)
    print(f"dialogue: {len(examples)} lines of {persona.name} (card: {'yes' if persona.description else 'none'})")
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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="finetune.py", description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    data = commands.add_parser("data", help="export a character's dialogue (and QA pairs) from an indexed book")
    data.add_argument("--book", required=True, help="an indexed book (title or file name)")
    data.add_argument("--character", required=True, help="the character (a card of that name or alias is used)")
    data.add_argument("-o", "--output", type=Path, required=True, help="output file (.jsonl, or .json for xtuner)")
    data.add_argument("--format", choices=["messages", "xtuner"], default="messages")
    data.add_argument("--max-chapter", type=int, default=None, help="use nothing past this chapter")
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
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    if args.command == "data":
        try:
            return export(args)
        except (OSError, ValueError, RuntimeError) as exc:  # NoIndexError, LLMUnavailable: one line
            print(f"导出失败 / Export failed: {exc}", file=sys.stderr)
            return 1
    try:
        result = train(
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
    except (OSError, ValueError) as exc:
        print(f"训练失败 / Training failed: {exc}", file=sys.stderr)
        return 1
    losses = result.train_losses
    print(f"{result.examples} examples; loss {losses[0]:.3f} → {losses[-1]:.3f}; adapter: {result.adapter}")
    if result.eval_losses:
        print(f"held-out loss: {' → '.join(f'{x:.3f}' for x in result.eval_losses)}")
    if result.merged:
        print(f"merged model: {result.merged}  (NOVELCHAT_LLM_MODEL={result.merged})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
