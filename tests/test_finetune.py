"""finetune.py on CPU: a few LoRA steps on a tiny InternLM2-format model (loss falls on a memorisation set, the loss
mask covers only the reply), merge, and the merged folder answers through llm.py."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import finetune
import llm
from config import Settings
from tests.test_internlm2 import write_xtuner_merged

MEMORISE = [
    ("望河楼的灯是哪天灭的？", "九月十三。"),
    ("何伯的黄狗叫什么？", "锅巴。"),
    ("林守拙是谁？", "灯匠。"),
    ("钱满仓是做什么的？", "开米铺。"),
]
SYSTEM = "你现在就是林晓，用她的口吻回答。"


def write_jsonl(path: Path, pairs) -> Path:
    rows = [
        {
            "messages": [
                {"role": "system", "content": SYSTEM},
                {"role": "user", "content": q},
                {"role": "assistant", "content": a},
            ]
        }
        for q, a in pairs
    ]
    path.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def base(tmp_path_factory) -> Path:
    return write_xtuner_merged(tmp_path_factory.mktemp("finetune-base"))


@pytest.fixture(scope="module")
def trained(base, tmp_path_factory) -> finetune.TrainResult:
    data = write_jsonl(tmp_path_factory.mktemp("data") / "memorise.jsonl", MEMORISE * 3)
    return finetune.train(
        data,
        str(base),
        tmp_path_factory.mktemp("out"),
        epochs=12,
        learning_rate=1e-2,
        lora_rank=8,
        batch_size=4,
        gradient_accumulation=1,
        max_length=128,
        merge=True,
    )


def test_loss_falls_on_a_memorisation_set(trained):
    losses = trained.train_losses
    assert trained.examples == 12 and len(losses) >= 8
    assert sum(losses[-3:]) / 3 < 0.5 * sum(losses[:3]) / 3, losses
    assert trained.eval_losses and trained.eval_losses[-1] < trained.eval_losses[0]


def test_only_the_reply_carries_loss(base):
    from datasets import Dataset
    from trl import SFTConfig, SFTTrainer

    model, tokenizer = finetune.load_base(str(base), four_bit=False)
    trainer = SFTTrainer(
        model=model,
        args=SFTConfig(output_dir="unused", completion_only_loss=True, report_to=[], use_cpu=True, max_length=128),
        train_dataset=Dataset.from_list(
            [
                finetune.prompt_completion(
                    [
                        {"role": "system", "content": SYSTEM},
                        {"role": "user", "content": MEMORISE[0][0]},
                        {"role": "assistant", "content": MEMORISE[0][1]},
                    ]
                )
            ]
        ),
        processing_class=tokenizer,
    )
    batch = trainer.data_collator([trainer.train_dataset[0]])
    learned = batch["input_ids"][0][batch["labels"][0] != -100]
    assert tokenizer.decode(learned, skip_special_tokens=False).strip() == MEMORISE[0][1] + "<|im_end|>"


def test_the_merged_model_answers_through_llm(trained):
    assert trained.merged and (trained.merged / "config.json").is_file()
    assert "auto_map" not in json.loads((trained.merged / "config.json").read_text(encoding="utf-8"))
    chat = llm.load_chat_model(
        Settings(
            _env_file=None,
            llm_model=str(trained.merged),
            llm_temperature=0.0,
            llm_load_in_4bit=False,
            llm_max_new_tokens=8,
        )
    )
    for question, answer in MEMORISE[:2]:
        reply = chat.invoke([("system", SYSTEM), ("human", question)]).content
        assert reply.startswith(answer.rstrip("。")), (question, reply)
