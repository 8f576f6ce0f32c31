"""LoRA / QLoRA fine-tuning of a chat model on a character's dialogue, and merging (peft + TRL).

Training data is OpenAI-style ``messages`` JSONL (``novelchat finetune data`` writes it); each example's last message is
the reply to learn (the character's line), everything before it is the prompt, so the loss falls on that reply only
(TRL's prompt–completion format). LoRA covers every linear layer of attention and MLP; on CUDA the base is loaded in
4-bit (QLoRA, as XTuner does), on a CPU in float32. Checkpoints are saved as it goes and a re-run resumes from the
last one. ``merge`` writes ``OUT/merged``: a full model folder (InternLM2 bases as standard Llama) that
``NOVELCHAT_LLM_MODEL`` loads. The command line is :mod:`novelchat.cli.finetune`.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

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

    from novelchat import models as llm

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
