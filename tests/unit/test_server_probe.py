"""An OpenAI-compatible server's status line, decided from what its model list and a one-token chat showed."""

from __future__ import annotations

from novelchat.models.server_probe import ChatProbe, Listing, judge, needs_chat_probe

URL = "http://127.0.0.1:8000/v1"
FAILED = Listing(None, "HTTP 500")
EMPTY = Listing(())
LISTED = Listing(("qwen2.5:7b", "llama3"))


def one_line(text: str) -> bool:
    return "\n" not in text and text.strip() == text != ""


def test_a_model_in_the_list_is_ready_without_a_chat_request():
    assert not needs_chat_probe("llama3", LISTED) and not needs_chat_probe("", LISTED)
    status = judge(URL, "llama3", LISTED, None)
    assert status.ready and "llama3" in status.message
    first = judge(URL, "", LISTED, None)  # none named: the first listed is the one used
    assert first.ready and "qwen2.5:7b" in first.message


def test_a_list_that_fails_is_empty_or_lacks_the_model_leaves_it_to_a_chat_request():
    assert needs_chat_probe("m", FAILED) and needs_chat_probe("m", EMPTY) and needs_chat_probe("mistral", LISTED)


def test_a_server_that_answers_chat_is_ready_whatever_its_list_says():
    for listing, found in [(FAILED, "/models failed: HTTP 500"), (EMPTY, "lists no model"), (LISTED, "not list")]:
        status = judge(URL, "smollm2", listing, ChatProbe("answered"))
        assert status.ready and one_line(status.message)
        assert "smollm2" in status.message and "answers chat" in status.message and found in status.message


def test_no_model_named_and_none_listed_asks_for_one():
    for listing in (FAILED, EMPTY):
        status = judge(URL, "", listing, None)
        assert not status.ready and one_line(status.message) and "NOVELCHAT_LLM_MODEL" in status.message


def test_a_model_the_server_does_not_have_names_the_ones_it_does():
    status = judge(URL, "mistral", LISTED, ChatProbe("unknown model", "404"))
    assert not status.ready and "mistral" in status.message and "qwen2.5:7b, llama3" in status.message
    unlisted = judge(URL, "mistral", FAILED, ChatProbe("unknown model", "404"))
    assert not unlisted.ready and "none listed" in unlisted.message and one_line(unlisted.message)


def test_a_model_slow_to_answer_may_be_loading():
    status = judge(URL, "big-model", FAILED, ChatProbe("timed out", seconds=3))
    assert not status.ready and one_line(status.message) and "3 s" in status.message and "loading" in status.message


def test_any_other_failure_is_its_own_line():
    failed = ChatProbe("failed", "模型服务出错（400） / The chat model server failed: pinned")
    status = judge(URL, "m", EMPTY, failed)
    assert not status.ready and status.message.endswith("pinned")
