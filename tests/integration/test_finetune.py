"""finetune.py on CPU: a few LoRA steps on a tiny InternLM2-format model (loss falls on a memorisation set, the loss
mask covers only the reply), merge, and the merged folder answers through llm.py."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest

from novelchat import models as llm
from novelchat.cli import finetune as finetune_cli
from novelchat.config import Settings
from novelchat.finetune import data as finetune_data
from novelchat.finetune import train as finetune
from novelchat.retrieval.library import Library
from novelchat.roleplay.cards import CHARACTERS_DIR, Persona
from tests.conftest import NOVELLA, ROOT
from tests.fake_openai_server import FakeOpenAIServer
from tests.internlm2_fixtures import write_xtuner_merged

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


def test_only_the_reply_carries_loss(base, tmp_path):
    from datasets import Dataset
    from trl import SFTConfig, SFTTrainer

    model, tokenizer = finetune.load_base(str(base), four_bit=False)
    trainer = SFTTrainer(
        model=model,
        args=SFTConfig(output_dir=str(tmp_path), completion_only_loss=True, report_to=[], use_cpu=True, max_length=128),
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


# --- dataset export on the sample novella, and the whole path --------------------------------------------------------

LABELS = ROOT / "tests" / "data" / "speakers_novella.jsonl"


def labelled_speakers() -> dict[str, set[str | None]]:
    """Each quote of the novella → who says it, as labelled by hand (tests/data/SPEAKERS_README.md)."""
    speakers: dict[str, set[str | None]] = {}
    for line in LABELS.read_text(encoding="utf-8").splitlines():
        row = json.loads(line)
        speakers.setdefault(row["quote"], set()).add(row["speaker"])
    return speakers


def export(novella_index, tmp_path, *extra: str) -> int:
    os.environ["NOVELCHAT_PERSIST_DIR"] = str(novella_index.persist_dir)
    try:
        return finetune_cli.main(["data", "--book", "青石镇的灯", *extra])
    finally:
        del os.environ["NOVELCHAT_PERSIST_DIR"]


@pytest.mark.parametrize("character", ["林晓", "沈墨舟", "何长庚"])
def test_every_exported_reply_is_the_characters_own_line(novella_index, tmp_path, character, capsys):
    out = tmp_path / "lines.jsonl"
    assert export(novella_index, tmp_path, "--character", character, "-o", str(out)) == 0
    examples = [json.loads(line)["messages"] for line in out.read_text(encoding="utf-8").splitlines()]
    persona, _ = finetune_data.find_cast(character, "青石镇的灯", CHARACTERS_DIR)
    labels = labelled_speakers()

    assert len(examples) >= 10 and "examples" in capsys.readouterr().out
    for messages in examples:
        assert messages[0] == {"role": "system", "content": finetune_data.system_prompt(persona, None)}
        assert f"你现在就是{character}" in messages[0]["content"]
        assert [m["role"] for m in messages[-2:]] == ["user", "assistant"]
        for reply in (m for m in messages if m["role"] == "assistant"):
            for line in reply["content"].split("\n"):
                assert labels.get(line) == {character}, (line, labels.get(line))  # theirs, never unknown
    assert len({json.dumps(m, ensure_ascii=False) for m in examples}) == len(examples)  # no duplicates


def test_the_scene_line_is_the_last_whole_sentences_as_the_one_splitter_reads_them():
    """A book that ends sentences with ． (红楼梦's editions) gets its scene line too, not just the narration's tail."""
    text = "那日天色已晚，" + "众人在园中说笑" * 12 + "．宝玉走进来。宝玉道：“好。”"
    (example,) = finetune_data.dialogue_examples(text, Persona(name="宝玉"), "system")
    scene, reply = example[1:]
    assert scene == {"role": "user", "content": "（宝玉走进来。宝玉道：）"} and reply["content"] == "好。"


def test_export_respects_the_chapter_limit_and_writes_xtuner_format(novella_index, tmp_path):
    out = tmp_path / "lin.json"
    args = ["--character", "林晓", "--max-chapter", "1", "--format", "xtuner", "-o", str(out)]
    assert export(novella_index, tmp_path, *args) == 0
    records = json.loads(out.read_text(encoding="utf-8"))
    chapter_one = NOVELLA.read_text(encoding="utf-8").split("第二章")[0]

    assert records and all(set(r) == {"conversation"} for r in records)
    for record in records:
        turns = record["conversation"]
        assert "你现在就是林晓" in turns[0]["system"] and all("system" not in t for t in turns[1:])
        assert all(line in chapter_one for t in turns for line in t["output"].split("\n"))


def test_qa_pairs_come_from_the_model_with_their_citation(novella_index, tmp_path):
    pair = '好的：{"question": "望河楼有几层？", "answer": "七层。"}'
    with FakeOpenAIServer(reply=pair) as server:
        library = Library(novella_index)
        chat = llm.load_chat_model(Settings(_env_file=None, llm_base_url=server.base_url, llm_model=server.model))
        examples = finetune_data.qa_examples(library, "青石镇的灯", chat, max_chapter=2, count=3)
        assert re.search(r"原文（《青石镇的灯》第 [12] 章", server.last_request["messages"][0]["content"])
    assert len(examples) == 3
    assert examples[0][1] == {"role": "user", "content": "望河楼有几层？"}
    assert re.fullmatch(r"七层。（出处：《青石镇的灯》第 [12] 章.*）", examples[0][2]["content"])


@pytest.mark.slow  # ~35 s here: a LoRA training run and a merge
def test_the_whole_path_book_to_dataset_to_merged_model(novella_index, base, tmp_path):
    data = tmp_path / "lin.jsonl"
    assert export(novella_index, tmp_path, "--character", "林晓", "--max-chapter", "1", "-o", str(data)) == 0
    args = ["train", str(data), "--base", str(base), "-o", str(tmp_path / "out"), "--epochs", "1", "--merge"]
    assert finetune_cli.main([*args, "--batch-size", "4", "--gradient-accumulation", "1", "--max-length", "4096"]) == 0
    merged = tmp_path / "out" / "merged"
    chat = llm.load_chat_model(
        Settings(
            _env_file=None, llm_model=str(merged), llm_temperature=0.0, llm_load_in_4bit=False, llm_max_new_tokens=6
        )
    )
    assert chat.invoke([("human", "爹呢？")]).content
