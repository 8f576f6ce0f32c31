"""The cross-encoder reader through the readers registry, on a real (tiny, random-weight) sentence-transformers
CrossEncoder built here: the reader contract (a lead from the passages, each passage's best sentence, a confidence
that stays 0 until calibrated), its ranking with a scorer that knows the answer, and a missing model that costs one
line, the heuristic answering instead."""

from __future__ import annotations

import pytest

from novelchat.answering.cross_encoder import CrossEncoderReader, ReaderUnavailable
from novelchat.answering.heuristic import Calibration, HeuristicReader
from novelchat.answering.qa import retrieval_only_answer
from novelchat.answering.readers import READERS
from novelchat.config import Settings
from novelchat.retrieval.passages import Passage
from novelchat.text.query import Query

pytest.importorskip("sentence_transformers")

PASSAGES = [
    Passage("b", "灯", 1, "第1章", 0, 0, "林晓在灯铺里糊灯罩。灯罩纸刷了五遍桐油，晾在院子里。何伯问：“晾几天？”"),
    Passage("b", "灯", 2, "第2章", 0, 0, "镇上的人都说林家的灯好。周怀德来买灯，说要挂在望河楼上。"),
]
QUESTION = Query.parse("林晓给灯罩纸刷了几遍桐油？")


@pytest.fixture(scope="module")
def tiny_reranker(tmp_path_factory) -> str:
    """A BERT cross-encoder with random weights and a character vocabulary, saved as a folder."""
    from transformers import BertConfig, BertForSequenceClassification, BertTokenizerFast

    folder = tmp_path_factory.mktemp("reranker")
    text = "".join(p.text for p in PASSAGES) + QUESTION.text
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *sorted({c for c in text if c.strip()})]
    (folder / "vocab.txt").write_text("\n".join(vocab), encoding="utf-8")
    BertTokenizerFast(vocab_file=str(folder / "vocab.txt")).save_pretrained(folder)
    config = BertConfig(vocab_size=len(vocab), hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                        intermediate_size=64, max_position_embeddings=128, num_labels=1)
    BertForSequenceClassification(config).save_pretrained(folder)
    return str(folder)


def settings(**changes) -> Settings:
    return Settings(_env_file=None, answer_reader="cross-encoder", **changes)


def test_a_real_cross_encoder_reads_through_the_registry(tiny_reranker):
    reader = READERS.create("cross-encoder", settings(reader_model=tiny_reranker))
    best = reader.lead(PASSAGES, QUESTION)
    texts = {s for p in PASSAGES for s in p.text.replace("。", "。\n").replace("”", "”\n").splitlines() if s}
    assert best is not None and best.sentences[0].text in texts
    assert set(best.anchors) == {1, 2} and "晾几天" not in "".join(best.anchors.values())  # a question never answers
    assert best.confidence == 0.0 and not best.shown_as_answer  # uncalibrated: never presented as the answer
    assert best.evidence[0] == best.sentences[0].score and 0.0 <= best.evidence[1] <= 1.0


class Knows:
    """A scorer that knows which sentence holds the answer (what a good reranker does)."""

    def predict(self, pairs, **kwargs):
        return [0.97 if "五遍" in sentence else 0.1 for _, sentence in pairs]


def test_its_best_sentence_leads_and_a_calibration_makes_it_the_answer():
    uncalibrated = CrossEncoderReader(Knows()).lead(PASSAGES, QUESTION)
    answer = "灯罩纸刷了五遍桐油，晾在院子里。"
    assert uncalibrated.sentences[0].text == answer and uncalibrated.sentences[0].number == 1
    assert uncalibrated.anchors[1] == answer
    reply = retrieval_only_answer(PASSAGES, QUESTION, uncalibrated)
    assert reply.startswith("（仅检索模式）以下是书中与问题最相关的段落：") and "五遍" in reply
    calibrated = CrossEncoderReader(Knows(), Calibration(-3.0, 4.0, 2.0)).lead(PASSAGES, QUESTION)
    assert calibrated.shown_as_answer  # 0.97 with a 0.9 margin: p = 0.94
    assert retrieval_only_answer(PASSAGES, QUESTION, calibrated).startswith(f"（仅检索模式）{answer} [1]")


@pytest.mark.parametrize("model", ["", "/nowhere/reranker"])
def test_a_missing_reader_model_is_one_line_and_the_heuristic_answers(model):
    with pytest.raises(ReaderUnavailable) as raised:
        READERS.create("cross-encoder", settings(reader_model=model))
    assert "\n" not in raised.value.friendly and "NOVELCHAT_" in raised.value.friendly

    from novelchat.ui.state import answer_reader

    answer_reader.clear()
    reader, note = answer_reader(settings(reader_model=model))
    answer_reader.clear()
    assert isinstance(reader, HeuristicReader) and note == raised.value.friendly
