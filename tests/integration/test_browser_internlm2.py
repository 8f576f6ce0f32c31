"""A folder shaped like `xtuner convert merge` output answers in the real app (start.py + chromium), and none of the
folder's own code runs: its remote .py files raise if imported, so any use of them would show as a load error."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.integration.conftest import ARTIFACTS, App, ask, open_page
from tests.internlm2_fixtures import write_xtuner_merged

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def internlm2_app(novella_index, tmp_path_factory, monkeypatch_module):
    folder = write_xtuner_merged(tmp_path_factory.mktemp("xtuner-merged-app"))
    monkeypatch_module.setenv("NOVELCHAT_LLM_MAX_NEW_TOKENS", "12")
    app = App(novella_index, tmp_path_factory.mktemp("internlm2-app"), model=str(folder))
    yield app
    app.stop()


@pytest.fixture(scope="module")
def monkeypatch_module():
    with pytest.MonkeyPatch.context() as patch:
        yield patch


def test_an_xtuner_merged_internlm2_folder_answers_in_the_app(browser, internlm2_app):
    page = open_page(browser, internlm2_app, "internlm2")
    ask(page, "望河楼的灯是哪天灭的？")
    reply = page.locator('[data-testid="stChatMessage"]').last
    expect(reply.get_by_text("出处", exact=False)).to_be_visible(timeout=60000)  # the reply has ended
    text = reply.inner_text().replace("出处", "").strip()
    assert text, "an empty reply"
    page.screenshot(path=str(ARTIFACTS / "internlm2-answer.png"), full_page=True)
    assert "⚠️" not in text and "无法加载" not in text and "Cannot load" not in text, text
    assert "仅检索模式" not in text  # the model answered, not the retrieval-only fallback
    expect(reply.get_by_text("出处", exact=False)).to_be_visible()  # the passages it was given
    log = (internlm2_app.corpus.parent / "start.log").read_text(encoding="utf-8")
    assert "remote code was executed" not in log and "Traceback" not in log
