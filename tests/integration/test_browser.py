"""The real thing: start.py in a subprocess, Debian chromium driven by Playwright (tests/integration/conftest.py).
Mandatory in CI (NOVELCHAT_REQUIRE_BROWSER=1); elsewhere they skip if chromium is absent."""

from __future__ import annotations

import itertools
import json
import re
import shutil
import time
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from playwright.sync_api import Page, WebSocket, expect
from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

from novelchat.index.store import load_manifest
from novelchat.roleplay.cards import CHARACTERS_DIR
from tests.conftest import HANG_S, NOVELLA, write_png_card
from tests.fake_openai_server import FakeOpenAIServer
from tests.integration.conftest import ARTIFACTS, WIND, App, ask, open_page

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def plain_app(novella_index, tmp_path_factory):
    app = App(novella_index, tmp_path_factory.mktemp("plain-app"))
    yield app
    app.stop()


def test_greeting_then_a_cited_answer_without_any_model(browser, plain_app):
    page = open_page(browser, plain_app, "qa")
    startup = time.perf_counter() - plain_app.started
    assert startup < HANG_S, f"page took {startup:.1f} s"  # how fast it is: bench/page_tti.py
    first = page.locator('[data-testid="stChatMessage"]').first
    expect(first).to_contain_text("书聊")
    expect(page.get_by_text("未配置模型", exact=False).first).to_be_visible()
    ask(page, "何伯船上那条黄狗叫什么？")
    answer = page.locator('[data-testid="stChatMessage"]').last
    expect(answer).to_contain_text("仅检索模式")
    expect(answer).to_contain_text("《青石镇的灯》第")
    answer.get_by_text("出处", exact=False).click()
    expect(answer.locator("mark").first).to_be_visible()
    page.screenshot(path=str(ARTIFACTS / "qa-answer.png"), full_page=True)
    with page.expect_download() as download:
        page.locator('[data-testid="stSidebar"]').get_by_text("导出对话", exact=False).click()
    transcript = Path(download.value.path()).read_text(encoding="utf-8")
    assert download.value.suggested_filename.endswith(".md")
    assert "**读者**：\n\n何伯船上那条黄狗叫什么？" in transcript
    assert "> **[1] 《青石镇的灯》第" in transcript and "锅巴" in transcript.split("何伯船上那条黄狗叫什么？")[1]


def test_an_uploaded_novel_becomes_a_selectable_book(browser, plain_app, tmp_path):
    page = open_page(browser, plain_app, "upload")
    novel = tmp_path / "雪夜.txt"
    novel.write_text("第一章 雪夜\n\n那年冬天，驿站的老马叫作踏雪。\n\n第二章 天明\n\n雪停了。\n", encoding="gb18030")
    page.locator('[data-testid="stFileUploaderDropzoneInput"]').set_input_files(str(novel))
    sidebar = page.locator('[data-testid="stSidebar"]')
    expect(sidebar.get_by_text("索引完成", exact=False)).to_be_visible(timeout=90000)  # the run that lists the book
    sidebar.locator('[data-testid="stSelectbox"]').first.click()
    option = page.get_by_role("option", name="《雪夜》")
    expect(option).to_be_visible()
    assert (plain_app.corpus / "雪夜.txt").exists()
    option.click()
    ask(page, "驿站的老马叫什么？")
    expect(page.locator('[data-testid="stChatMessage"]').last).to_contain_text("踏雪")
    page.screenshot(path=str(ARTIFACTS / "upload.png"), full_page=True)


REPLIES = itertools.count(1)


def in_character(messages: list[dict]) -> str:
    system = messages[0]["content"]
    if "你现在就是林晓" in system:
        return "哼，红灯？那是我爹教我的手艺，你问这个做什么？"
    return f"（测试模型）第{next(REPLIES)}个回答"


@pytest.fixture(scope="module")
def llm_app(novella_index, tmp_path_factory):
    characters = tmp_path_factory.mktemp("characters")  # the cards, 林晓's as a SillyTavern PNG with her picture
    for card in CHARACTERS_DIR.glob("*.json"):
        shutil.copy(card, characters)
    (characters / "lin_xiao.json").unlink()
    write_png_card(characters / "lin_xiao.png", json.loads((CHARACTERS_DIR / "lin_xiao.json").read_text("utf-8")))
    with FakeOpenAIServer(reply=in_character, delay=0.02) as server:
        app = App(novella_index, tmp_path_factory.mktemp("llm-app"), server.base_url, server.model, characters)
        yield app, server
        app.stop()


def test_roleplay_answers_in_character(browser, llm_app):
    app, server = llm_app
    page = open_page(browser, app, "roleplay")
    page.locator('[data-testid="stSidebar"]').get_by_text("角色扮演", exact=True).click()
    page.locator('[data-testid="stSidebar"] [data-testid="stSelectbox"]').nth(1).click()
    page.get_by_role("option", name="林晓（青石镇的灯）").click()
    expect(page.locator('[data-testid="stChatMessage"]').first).to_contain_text("买灯")
    ask(page, "你做的红灯是什么样的？")
    expect(page.locator('[data-testid="stChatMessage"]').last).to_contain_text("那是我爹教我的手艺，你问这个做什么？")
    assert "你现在就是林晓" in server.last_request["messages"][0]["content"]
    reply = page.locator('[data-testid="stChatMessage"]').last
    expect(reply.locator("img")).to_be_visible()  # her picture, from the PNG card
    expect(reply.get_by_text("出处", exact=False)).to_be_visible()  # the passages her lines were drawn from
    page.screenshot(path=str(ARTIFACTS / "roleplay.png"), full_page=True)


def test_a_character_drafted_from_the_book_can_be_talked_to(browser, llm_app):
    app, server = llm_app
    page = open_page(browser, app, "new-character")
    sidebar = page.locator('[data-testid="stSidebar"]')
    sidebar.get_by_text("角色扮演", exact=True).click()
    sidebar.get_by_text("从书中创建角色").click()
    sidebar.get_by_label("角色名").fill("周怀德")
    sidebar.get_by_label("角色名").press("Enter")
    sidebar.get_by_role("button", name="创建角色卡").click()
    expect(sidebar.get_by_role("combobox", name="角色")).to_have_value("周怀德（青石镇的灯）", timeout=30000)
    card = json.loads((app.characters / "周怀德_青石镇的灯.json").read_text(encoding="utf-8"))
    expect(page.locator('[data-testid="stChatMessage"]').first).to_contain_text(card["data"]["first_mes"])
    assert card["data"]["first_mes"].strip("“”") in NOVELLA.read_text(encoding="utf-8")  # his words in the book
    ask(page, "你的烟杆是什么做的？")
    expect(page.locator('[data-testid="stChatMessage"]').last).to_contain_text("（测试模型）")
    assert "你现在就是周怀德" in server.last_request["messages"][0]["content"]
    page.screenshot(path=str(ARTIFACTS / "new-character.png"), full_page=True)


def test_regenerate_replaces_the_last_reply_and_asks_once(browser, llm_app):
    app, server = llm_app
    page = open_page(browser, app, "regenerate")
    ask(page, "望河楼有几层？")
    messages = page.locator('[data-testid="stChatMessage"]')
    expect(messages.last).to_contain_text("个回答")  # streamed to the end
    first = re.search(r"第(\d+)个回答", messages.last.inner_text()).group(0)
    page.get_by_role("button", name="重新生成").click()
    expect(messages.last).not_to_contain_text(first, timeout=30000)
    expect(messages.last).to_contain_text("个回答")
    expect(messages).to_have_count(3)  # greeting, the question once, the new reply
    sent = [m["content"] for m in server.last_request["messages"]]
    assert sent.count("望河楼有几层？") == 1 and not any(first in text for text in sent)


def test_with_voice_on_an_audio_player_appears_under_the_reply(browser, llm_app):
    app, _ = llm_app
    page = open_page(browser, app, "voice")
    page.locator('[data-testid="stSidebar"]').get_by_text("朗读回复").click()
    ask(page, "望河楼在哪里？")
    reply = page.locator('[data-testid="stChatMessage"]').last
    expect(reply.locator("audio")).to_have_count(1, timeout=60000)
    expect(reply).to_contain_text("语音")
    src = reply.locator("audio").get_attribute("src")
    assert src, "the player has audio"
    page.screenshot(path=str(ARTIFACTS / "voice.png"), full_page=True)


class Reruns:
    """Counts, from the page's websocket, the script runs the server makes for it (each starts with a
    ``new_session`` message: whole page or fragment) and the reruns the page asks for (``rerun_script``)."""

    def __init__(self, page: Page):
        self.runs = self.requests = 0
        page.on("websocket", self._watch)

    def _watch(self, socket: WebSocket) -> None:
        socket.on("framereceived", self._received)
        socket.on("framesent", self._sent)

    def _received(self, payload: bytes | str) -> None:
        if isinstance(payload, bytes) and ForwardMsg.FromString(payload).WhichOneof("type") == "new_session":
            self.runs += 1

    def _sent(self, payload: bytes | str) -> None:
        if isinstance(payload, bytes) and BackMsg.FromString(payload).WhichOneof("type") == "rerun_script":
            self.requests += 1

    def quiet(self, page: Page, seconds: float, limit: float) -> None:
        """Wait (at most ``limit`` s) until no run has started for ``seconds``."""
        deadline, last, seen = time.monotonic() + limit, time.monotonic(), self.runs
        while time.monotonic() < deadline and time.monotonic() - last < seconds:
            page.wait_for_timeout(250)
            if self.runs != seen:
                last, seen = time.monotonic(), self.runs


def ask_once(page: Page, text: str) -> None:
    """Send a message once, as a reader does (no second try), and wait for the reply to be written."""
    messages = page.locator('[data-testid="stChatMessage"]')
    before = messages.count()
    box = page.locator('[data-testid="stChatInputTextArea"]')
    expect(box).to_be_editable(timeout=30000)
    box.fill(text)
    box.press("Enter")
    expect(messages).to_have_count(before + 2, timeout=30000)
    expect(messages.nth(before)).to_contain_text(text)
    expect(messages.last.get_by_text("出处", exact=False)).to_be_visible(timeout=30000)  # written to the end


SNOW = "第1章 雪夜\n\n那年冬天，驿站的老马叫作踏雪，它认得回家的路。\n\n" + "".join(
    f"第{n}章 风雪\n\n{WIND}\n\n" for n in range(2, 26))


def test_questions_asked_while_the_index_builds_and_as_it_ends_are_answered(browser, novella_index, tmp_path):
    """Issue #13: the page of a freshly started app, a new book's vectors still being built in the background. The
    reader asks at once; then asks again just as the build ends, before the page's progress timer has noticed (made
    certain by pausing the page's clock: that is when a refresh used to swallow the question). Both are answered, and
    the page shows the build's result."""
    app = App(novella_index, tmp_path, new_books={"雪夜.txt": SNOW})
    try:
        page = open_page(browser, app, "fresh-start", clock=True)
        ask_once(page, "何伯船上那条黄狗叫什么？")
        assert not vectors_built(app, "雪夜.txt"), "the build ended before the test could pause the page's timer"
        page.clock.pause_at(datetime.now() + timedelta(seconds=1))
        watcher = open_page(browser, app, "fresh-start-watcher")  # a second reader, whose timer runs on
        expect(watcher.locator('[data-testid="stSidebar"]').get_by_text("索引完成", exact=False)).to_be_visible(
            timeout=HANG_S * 1000)  # the build has returned, not only written its manifest
        assert vectors_built(app, "雪夜.txt")
        watcher.close()
        box = page.locator('[data-testid="stChatInputTextArea"]')
        box.fill("驿站的老马叫什么？")
        box.press("Enter")
        page.clock.resume()
        messages = page.locator('[data-testid="stChatMessage"]')
        expect(messages).to_have_count(5, timeout=30000)
        expect(messages.last.get_by_text("出处", exact=False)).to_be_visible(timeout=30000)
        expect(page.locator('[data-testid="stSidebar"]').get_by_text("索引完成", exact=False)).to_be_visible()
        texts = messages.all_inner_texts()
        assert "何伯船上那条黄狗叫什么？" in texts[1] and "驿站的老马叫什么？" in texts[3], texts
        assert "仅检索模式" in texts[2] and "踏雪" in texts[4], texts
        page.screenshot(path=str(ARTIFACTS / "fresh-start.png"), full_page=True)
    finally:
        app.stop()


def vectors_built(app: App, file: str) -> bool:
    """Whether the app's index has the book's vectors, complete."""
    return any(entry.file == file and entry.dense_complete for entry in load_manifest(app.persist).books.values())


def test_an_idle_page_makes_no_reruns(browser, plain_app):
    """Issue #13: with nothing being indexed an open page costs the server nothing: no timer, no script runs."""
    page = open_page(browser, plain_app, "idle")
    reruns = Reruns(page)
    page.reload()  # counted from the start of a session
    expect(page.locator('[data-testid="stChatInputTextArea"]')).to_be_editable(timeout=30000)
    reruns.quiet(page, seconds=4, limit=30)  # the start-up pass (nothing to do) may still end with one refresh
    before = (reruns.runs, reruns.requests)
    page.wait_for_timeout(10000)
    assert (reruns.runs, reruns.requests) == before, f"{reruns.runs - before[0]} script runs in 10 s on an idle page"
    ask(page, "何伯船上那条黄狗叫什么？")  # and it still answers
    assert reruns.runs > before[0]


def test_a_question_sent_while_a_reply_is_being_written_cuts_nothing(browser, llm_app):
    """Issue #13: the reader sends a second message while the first reply still streams (in Streamlit that stops
    the run writing it): both messages are kept, and each gets its reply, in order."""
    app, server = llm_app
    page = open_page(browser, app, "two-questions")
    messages = page.locator('[data-testid="stChatMessage"]')
    box = page.locator('[data-testid="stChatInputTextArea"]')
    server.delay = 0.4  # 2 characters per chunk: each reply streams for ~2.5 s
    try:
        box.fill("望河楼有几层？")
        box.press("Enter")
        expect(messages).to_have_count(3, timeout=30000)
        expect(messages.last).to_contain_text("（测试", timeout=30000)  # the first reply is being written
        box.fill("何伯是谁？")
        box.press("Enter")
        expect(messages).to_have_count(5, timeout=60000)
        expect(messages.last.get_by_text("出处", exact=False)).to_be_visible(timeout=60000)
    finally:
        server.delay = 0.02
    texts = messages.all_inner_texts()
    assert "望河楼有几层？" in texts[1] and "何伯是谁？" in texts[3]
    assert re.search(r"第\d+个回答", texts[2]) and re.search(r"第\d+个回答", texts[4])
