"""The chat backends end to end: a tiny random-weight local model built here, and a real fake OpenAI server."""

from __future__ import annotations

import json
import logging
import os
import shutil
import threading
import time
from pathlib import Path

import pytest
import torch
from langchain_core.messages import HumanMessage, SystemMessage

from novelchat import models as llm
from novelchat.config import Settings
from novelchat.models.cache import ModelCache
from novelchat.models.loading import plan
from tests.conftest import HANG_S, free_port
from tests.fake_openai_server import FakeOpenAIServer

os.environ.setdefault("HF_HUB_OFFLINE", "1")  # conftest sets these too; nothing here may reach a hub
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

QUESTION = [SystemMessage("你是《红楼梦》的读书助手。"), HumanMessage("林黛玉是谁？")]
CHAT_TEMPLATE = (
    "{% for m in messages %}<s>{{ m['role'] }}\n{{ m['content'] }}</s>\n{% endfor %}"
    "{% if add_generation_prompt %}<s>assistant\n{% endif %}"
)


def llm_settings(**overrides) -> Settings:
    """Settings for a test: no .env, plain greedy decoding (no repetition penalty, n-gram block or stop strings, so a
    reply can be compared with plain ``generate``) unless told otherwise."""
    plain = {"llm_temperature": 0.0, "llm_load_in_4bit": False, "llm_repetition_penalty": 1.0,
             "llm_no_repeat_ngram_size": 0, "llm_stop": []}
    return Settings(_env_file=None, **{**plain, **overrides})


def one_line(text: str) -> bool:
    return bool(text) and "\n" not in text and "Traceback" not in text


# --- local transformers backend ----------------------------------------------------------------


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory) -> Path:
    """A tiny random-weight Llama chat model with a byte-level BPE tokenizer, saved to disk (~3 s)."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

    lines = ["林黛玉进贾府，宝玉摔玉。", "The quick brown fox jumps over the lazy dog.", "孙悟空大闹天宫。"] * 20
    bpe = Tokenizer(models.BPE(unk_token="<unk>"))
    bpe.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    bpe.decoder = decoders.ByteLevel()
    specials = ["<unk>", "<s>", "</s>", "<pad>"]
    trainer = trainers.BpeTrainer(
        vocab_size=400, special_tokens=specials, initial_alphabet=pre_tokenizers.ByteLevel.alphabet()
    )
    bpe.train_from_iterator(lines, trainer)
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=bpe, unk_token="<unk>", bos_token="<s>", eos_token="</s>", pad_token="<pad>"
    )
    tokenizer.chat_template = CHAT_TEMPLATE
    torch.manual_seed(0)
    config = LlamaConfig(
        vocab_size=len(tokenizer),
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=512,
        initializer_range=0.3,  # livelier random text than the default 0.02
        bos_token_id=1,
        eos_token_id=2,
        pad_token_id=3,
    )
    model = LlamaForCausalLM(config)
    with torch.no_grad():  # special tokens never win, so every reply runs to max_new_tokens
        model.lm_head.weight[: len(specials)] = 0.0
    path = tmp_path_factory.mktemp("tiny-chat-model")
    tokenizer.save_pretrained(path)
    model.save_pretrained(path)
    return path


@pytest.fixture(scope="session")
def tiny_chat(tiny_model_dir) -> llm.LocalTransformersChat:
    chat = llm.load_chat_model(llm_settings(llm_model=str(tiny_model_dir), llm_max_new_tokens=24))
    assert isinstance(chat, llm.LocalTransformersChat)
    return chat


def plain_generate(chat: llm.LocalTransformersChat, max_new_tokens: int) -> str:
    """The reply from plain ``model.generate`` (greedy), the baseline the backend must match."""
    tokenizer, model = chat.tokenizer, chat.hf_model
    chat_messages = [
        {"role": "system", "content": QUESTION[0].content},
        {"role": "user", "content": QUESTION[1].content},
    ]
    prompt = tokenizer.apply_chat_template(chat_messages, add_generation_prompt=True, tokenize=False)
    inputs = tokenizer(prompt, return_tensors="pt", add_special_tokens=False)
    output = model.generate(**inputs, max_new_tokens=max_new_tokens, do_sample=False, pad_token_id=3)
    return tokenizer.decode(output[0, inputs["input_ids"].shape[-1] :], skip_special_tokens=True)


def test_local_invoke_and_stream_match_plain_generate(tiny_chat):
    reply = tiny_chat.invoke(QUESTION)
    pieces = [chunk.content for chunk in tiny_chat.stream(QUESTION)]

    assert reply.content == plain_generate(tiny_chat, 24)
    assert len([p for p in pieces if p]) >= 3, pieces
    assert "".join(pieces) == reply.content
    assert reply.usage_metadata["output_tokens"] == 24
    assert reply.response_metadata["finish_reason"] == "length"


def test_local_max_new_tokens_respected(tiny_chat, tiny_model_dir):
    short = llm.LocalTransformersChat(
        model_path=str(tiny_model_dir), load_in_4bit=False, temperature=0, max_new_tokens=5
    )
    reply = short.invoke(QUESTION)

    assert short.hf_model is tiny_chat.hf_model  # one loaded model per (path, quantisation)
    assert reply.usage_metadata["output_tokens"] == 5
    assert reply.content == plain_generate(tiny_chat, 5)
    assert tiny_chat.invoke(QUESTION).content.startswith(reply.content)


def test_local_stop_sequence_cuts_output(tiny_chat):
    pieces = [chunk.content for chunk in tiny_chat.stream(QUESTION) if chunk.content]
    full = "".join(pieces)
    across = pieces[0][-1] + pieces[1][0]  # a stop string split between two streamed pieces
    early = next(ch for ch in full[1:] if "\u4e00" <= ch <= "\u9fff")  # CJK text is streamed at once

    for stop in (across, early):
        expected = full[: full.index(stop)]
        cut = tiny_chat.invoke(QUESTION, stop=[stop, "never-there"])
        assert cut.content == expected
        assert "".join(chunk.content for chunk in tiny_chat.stream(QUESTION, stop=[stop])) == expected
        assert cut.response_metadata["finish_reason"] == "stop"
    assert cut.usage_metadata["output_tokens"] < 24  # generation itself stopped early, not just the text


def test_local_4bit_not_applied_on_cpu(tiny_model_dir, monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    chat = llm.load_chat_model(llm_settings(llm_model=str(tiny_model_dir), llm_load_in_4bit=True))

    model = chat.hf_model
    assert not getattr(model, "is_quantized", False)
    assert getattr(model, "hf_quantizer", None) is None
    assert not any("4bit" in type(module).__name__ for module in model.modules())
    assert model.dtype == torch.float32
    assert "float32 on CPU" in chat.load_note and "4-bit quantisation needs CUDA" in chat.load_note
    assert chat.invoke("你好").content


def test_local_backend_status(tiny_chat, tiny_model_dir):
    status = llm.backend_status(llm_settings(llm_model=str(tiny_model_dir)))
    assert status.name == "transformers" and status.ready
    assert "loaded" in status.message and one_line(status.message)


def test_model_cache_loads_once_and_forgets_on_clear(tiny_model_dir):
    cache, source, mode = ModelCache(), str(tiny_model_dir.resolve()), plan(False, None)[0]
    first = cache.load(str(tiny_model_dir), want_4bit=False)

    assert cache.load(str(tiny_model_dir), want_4bit=False) is first and cache.loaded(source, mode) is first
    cache.clear()
    assert cache.loaded(source, mode) is None


@pytest.fixture
def hub_downloads(monkeypatch) -> list[str]:
    """The repo ids that ``hf_hub_download`` was asked for (each call fails: nothing here may reach a hub)."""
    import huggingface_hub
    from huggingface_hub.errors import LocalEntryNotFoundError

    calls = []

    def download(repo_id, *args, **kwargs):
        calls.append(repo_id)
        raise LocalEntryNotFoundError("this test has no network")

    monkeypatch.setattr(huggingface_hub, "hf_hub_download", download)
    return calls


def fake_hub_cache(root: Path, repo_id: str, config: dict) -> None:
    """A hub cache holding only ``repo_id``'s config.json, laid out as huggingface_hub writes it."""
    repo = root / f"models--{repo_id.replace('/', '--')}"
    (repo / "refs").mkdir(parents=True)
    (repo / "refs" / "main").write_text("0123abcd", encoding="utf-8")
    (repo / "snapshots" / "0123abcd").mkdir(parents=True)
    (repo / "snapshots" / "0123abcd" / "config.json").write_text(json.dumps(config), encoding="utf-8")


def test_the_status_of_a_hub_model_reads_the_local_cache_only(hub_downloads, tiny_model_dir, tmp_path, monkeypatch):
    from huggingface_hub import constants

    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path))
    fake_hub_cache(tmp_path, "internlm/cached-7b", json.loads((tiny_model_dir / "config.json").read_text("utf-8")))

    missing = llm.backend_status(llm_settings(llm_model="internlm/not-downloaded-7b"))
    cached = llm.backend_status(llm_settings(llm_model="internlm/cached-7b"))

    assert hub_downloads == []  # a status is read on every page run: it must never wait on the network
    assert not missing.ready and "not downloaded yet" in missing.message and one_line(missing.message)
    assert cached.ready and "loads when first needed" in cached.message and "weights ≈" in cached.message


def test_a_bug_behind_a_status_line_is_logged_with_its_traceback(tiny_model_dir, monkeypatch, caplog):
    from novelchat.models import local

    def broken(*args, **kwargs):
        raise ZeroDivisionError("a bug in the load plan")

    monkeypatch.setattr(local, "plan", broken)
    status = llm.backend_status(llm_settings(llm_model=str(tiny_model_dir)))

    assert not status.ready and one_line(status.message) and "ZeroDivisionError" in status.message
    errors = [record for record in caplog.records if record.levelno >= logging.ERROR]
    assert errors and errors[0].exc_info[0] is ZeroDivisionError


def test_a_server_down_is_a_status_not_a_logged_bug(caplog):
    with caplog.at_level(logging.INFO, logger="novelchat.models"):
        status = llm.backend_status(llm_settings(llm_base_url=f"http://127.0.0.1:{free_port()}/v1", llm_timeout=2))
    assert not status.ready and "Cannot reach" in status.message
    assert [record.levelno for record in caplog.records if record.name.startswith("novelchat")] == [logging.INFO]


@pytest.mark.parametrize("model", ["/nonexistent/novelchat-model", "internlm/not-in-this-cache-7b"])
def test_local_missing_model_is_friendly_and_fast(model, monkeypatch):
    from huggingface_hub import constants

    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    settings = llm_settings(llm_model=model)
    started = time.monotonic()
    with pytest.raises(llm.LLMUnavailable) as info:
        llm.load_chat_model(settings)
    assert time.monotonic() - started < HANG_S  # offline: no waiting on the hub
    message = llm.friendly_error(info.value)
    assert one_line(message) and model in message
    status = llm.backend_status(settings)
    assert not status.ready and model in status.message


OLD_STYLE_MODELING = """
from transformers import LlamaForCausalLM


class OldStyleForCausalLM(LlamaForCausalLM):
    \"\"\"Remote code written for transformers 4.4x, like InternLM2's: reads a cache attribute removed since.\"\"\"

    def prepare_inputs_for_generation(self, input_ids, past_key_values=None, **kwargs):
        if past_key_values is not None and past_key_values.get_seq_length() > 0:
            past_key_values.seen_tokens
        return super().prepare_inputs_for_generation(input_ids, past_key_values=past_key_values, **kwargs)
"""


def test_local_remote_code_for_old_transformers_is_caught_at_load(tiny_model_dir, tmp_path):
    folder = tmp_path / "old_remote_code"
    shutil.copytree(tiny_model_dir, folder)
    (folder / "modeling_old.py").write_text(OLD_STYLE_MODELING, encoding="utf-8")
    config = json.loads((folder / "config.json").read_text(encoding="utf-8"))
    config["auto_map"] = {"AutoModelForCausalLM": "modeling_old.OldStyleForCausalLM"}
    (folder / "config.json").write_text(json.dumps(config), encoding="utf-8")

    with pytest.raises(llm.LLMUnavailable) as info:
        llm.load_chat_model(llm_settings(llm_model=str(folder)))
    message = llm.friendly_error(info.value)
    assert one_line(message) and "seen_tokens" in message and "<4.49" in message and "LMDeploy" in message


def test_local_hung_generation_times_out(tiny_model_dir, monkeypatch):
    chat = llm.LocalTransformersChat(model_path=str(tiny_model_dir), load_in_4bit=False, timeout=1.0)
    release = threading.Event()
    monkeypatch.setattr(chat.hf_model, "generate", lambda **_: release.wait(HANG_S))  # stuck until released
    started = time.perf_counter()
    try:
        with pytest.raises(TimeoutError) as info:  # raised while generate is still stuck: the timeout fired
            chat.invoke("你好")
    finally:
        release.set()
    assert time.perf_counter() - started < 3 * chat.timeout  # gave up by its configured timeout (3x: a busy machine)
    assert "NOVELCHAT_LLM_TIMEOUT" in llm.friendly_error(info.value)


def test_local_generation_error_reaches_caller(tiny_model_dir, monkeypatch):
    chat = llm.LocalTransformersChat(model_path=str(tiny_model_dir), load_in_4bit=False)

    def out_of_memory(**_):
        raise RuntimeError("CUDA out of memory. Tried to allocate 2.00 GiB\nmore detail")

    monkeypatch.setattr(chat.hf_model, "generate", out_of_memory)
    with pytest.raises(RuntimeError) as info:
        list(chat.stream("你好"))
    message = llm.friendly_error(info.value)
    assert one_line(message) and "Out of memory" in message


# --- OpenAI-compatible servers -----------------------------------------------------------------


@pytest.fixture
def server():
    with FakeOpenAIServer(reply=lambda messages: "你问的是：" + messages[-1]["content"], chunk_chars=1) as fake:
        yield fake


def test_openai_invoke_sends_messages_and_finds_model(server):
    chat = llm.load_chat_model(llm_settings(llm_base_url=server.base_url, llm_max_new_tokens=64))
    reply = chat.invoke(QUESTION)

    assert reply.content == "你问的是：林黛玉是谁？"
    sent = server.last_request
    assert sent["model"] == "fake-model"  # asked /models, as llm_model is empty
    assert sent["messages"] == [
        {"role": "system", "content": "你是《红楼梦》的读书助手。"},
        {"role": "user", "content": "林黛玉是谁？"},
    ]
    assert sent["max_tokens"] == sent["max_completion_tokens"] == 64
    assert sent["temperature"] == 0.0


def test_openai_stream_yields_chunks_in_order(server):
    chat = llm.load_chat_model(llm_settings(llm_base_url=server.base_url, llm_model="fake-model"))
    pieces = [chunk.content for chunk in chat.stream("天宫")]

    assert [p for p in pieces if p] == list("你问的是：天宫")
    assert server.last_request["stream"] is True


def test_openai_stop_and_unknown_model(server):
    chat = llm.load_chat_model(llm_settings(llm_base_url=server.base_url, llm_model="fake-model"))
    assert chat.invoke("天宫", stop=["："]).content == "你问的是"

    wrong = llm_settings(llm_base_url=server.base_url, llm_model="internlm2")
    with pytest.raises(Exception) as info:
        llm.load_chat_model(wrong).invoke("你好")
    assert "404" in llm.friendly_error(info.value) and one_line(llm.friendly_error(info.value))
    status = llm.backend_status(wrong)
    assert not status.ready and "fake-model" in status.message


def test_openai_server_down_fails_fast():
    settings = llm_settings(llm_base_url=f"http://127.0.0.1:{free_port()}/v1", llm_model="m", llm_timeout=2)
    started = time.monotonic()
    with pytest.raises(Exception) as info:
        llm.load_chat_model(settings).invoke("你好")
    assert time.monotonic() - started < HANG_S  # a refused connection is not waited on
    message = llm.friendly_error(info.value)
    assert one_line(message) and "无法连接" in message and "Cannot reach" in message

    with pytest.raises(llm.LLMUnavailable, match="Cannot reach"):  # no model named: asks /models first
        llm.load_chat_model(settings.with_(llm_model=""))


def test_openai_hanging_server_times_out(server):
    server.hang = 2 * HANG_S  # answers only when the test ends: a call that returns before gave up by its timeout
    settings = llm_settings(llm_base_url=server.base_url, llm_model="fake-model", llm_timeout=2)
    chat = llm.load_chat_model(settings)
    bound = 3 * settings.llm_timeout  # each gives up by the configured timeout (3x: a busy machine), no retry
    for call in (lambda: chat.invoke("你好"), lambda: list(chat.stream("你好"))):
        started = time.monotonic()
        with pytest.raises(Exception) as info:
            call()
        assert time.monotonic() - started < bound
        assert "NOVELCHAT_LLM_TIMEOUT" in llm.friendly_error(info.value)
    started = time.monotonic()
    assert not llm.backend_status(settings).ready
    assert time.monotonic() - started < bound


def test_backend_status_ready_down_and_none(server):
    ready = llm.backend_status(llm_settings(llm_base_url=server.base_url))
    assert (ready.name, ready.ready) == ("openai", True) and "fake-model" in ready.message

    down = llm.backend_status(llm_settings(llm_base_url=f"http://127.0.0.1:{free_port()}/v1", llm_timeout=2))
    assert (down.name, down.ready) == ("openai", False) and one_line(down.message)

    none = llm.backend_status(llm_settings())
    assert (none.name, none.ready) == ("none", False)
    assert "仅检索" in none.message and "retrieval-only" in none.message and one_line(none.message)
    assert llm.load_chat_model(llm_settings()) is None
    assert llm.load_chat_model(llm_settings(llm_backend="none", llm_base_url=server.base_url)) is None


def test_friendly_error_is_one_line():
    try:
        try:
            raise ConnectionRefusedError(111, "Connection refused")
        except OSError as inner:
            raise RuntimeError("chain failed\nwith a second line") from inner
    except RuntimeError as exc:
        assert "无法连接" in llm.friendly_error(exc)
    odd = llm.friendly_error(ValueError("first line\nsecond line"))
    assert one_line(odd) and "ValueError: first line" in odd


def test_a_reply_cut_inside_a_character_drops_its_stray_bytes(tiny_chat, tiny_model_dir):
    cut_inside = []
    full = plain_generate(tiny_chat, 24)
    for n in range(1, 25):
        raw = plain_generate(tiny_chat, n) if len(cut_inside) < 2 and "\ufffd" in full else ""
        if raw.endswith("\ufffd"):
            short = llm.LocalTransformersChat(
                model_path=str(tiny_model_dir), load_in_4bit=False, temperature=0, max_new_tokens=n
            )
            cut_inside.append((raw, short.invoke(QUESTION).content))
    assert cut_inside, "the tiny model never stopped inside a character: the test would prove nothing"
    for raw, reply in cut_inside:
        assert reply == raw.rstrip("\ufffd")
