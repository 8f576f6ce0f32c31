"""A server whose ``/v1/models`` fails or lists nothing but that answers chat is ready (the fake SSE server)."""

from __future__ import annotations

import pytest

from novelchat.config import Settings
from novelchat.models import backend_status, load_chat_model
from tests.fake_openai_server import FakeOpenAIServer


def settings_for(server: FakeOpenAIServer, model: str) -> Settings:
    return Settings(_env_file=None, llm_backend="openai", llm_base_url=server.base_url, llm_model=model, llm_timeout=5)


@pytest.fixture
def server():
    with FakeOpenAIServer(reply="The keeper lit the lamp.") as running:
        yield running


@pytest.mark.parametrize(("listing", "found"), [("missing", "/models failed: HTTP 404"), ("empty", "lists no model")])
def test_a_server_with_no_model_list_that_answers_chat_is_ready(server, listing, found):
    server.listing = listing
    status = backend_status(settings_for(server, server.model))
    assert status.ready, status.message
    assert found in status.message and "answers chat" in status.message and "\n" not in status.message
    assert server.last_request["max_tokens"] == 1  # the probe asks for one token, not a reply
    reply = "".join(chunk.content for chunk in load_chat_model(settings_for(server, server.model)).stream("Hi"))
    assert reply == "The keeper lit the lamp."


def test_a_model_the_server_lacks_is_not_ready_even_when_it_lists_none(server):
    server.listing = "missing"
    status = backend_status(settings_for(server, "not-served"))
    assert not status.ready and "does not serve not-served" in status.message


def test_no_list_and_no_model_named_asks_for_the_model(server):
    server.listing = "empty"
    status = backend_status(settings_for(server, ""))
    assert not status.ready and "NOVELCHAT_LLM_MODEL" in status.message
    assert server.requests == []  # nothing to probe: no model named


def test_a_listed_model_needs_no_chat_request(server):
    status = backend_status(settings_for(server, server.model))
    assert status.ready and server.requests == []
