"""Issues #12 and #13 in the page: each book's chapter limit and each conversation survive switching, the export
downloads while a book is being indexed, uploads never replace a book and refusals say why, and the rough edges a
new reader met are gone. One app, two books (the novella, and 雪夜 whose vectors build while the tests run)."""

from __future__ import annotations

import random
import shutil
import sys
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from novelchat.roleplay.cards import CHARACTERS_DIR
from tests.integration.conftest import ARTIFACTS, WIND, App, a_run, ask, open_page, settled

pytestmark = pytest.mark.browser

ZH_BOOK = "《青石镇的灯》"
WORDS = random.Random(13).choices([WIND[i: i + 4] for i in range(0, 40, 2)] + list("山风雪夜灯船河镇桥马"), k=12000)
SNOW = "第1章 雪夜\n\n那年冬天，驿站的老马叫作踏雪，它认得回家的路。\n\n" + "".join(
    f"第{n}章 风雪\n\n{''.join(WORDS[n * 200: n * 200 + 200])}。\n\n" for n in range(2, 61)
)  # ~40k characters, no two windows alike: its vectors take minutes here

PIXEL = "http://127.0.0.1:9/chart.png"  # nothing listens there: the test watches whether the browser tries
CHART = (f"第一章 海图\n\n老船长把海图挂在舱壁上：![海图]({PIXEL}) 旁边用红笔写着 **不要出海**。\n\n"
         "第二章 启航\n\n天亮了。\n")


@pytest.fixture(scope="module")
def reader_app(novella_index, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("reader-app")
    characters = tmp / "characters"
    shutil.copytree(CHARACTERS_DIR, characters)
    tools = tmp / "bin"  # the app's PATH: its Python only, so no ffmpeg
    tools.mkdir()
    (tools / "python").symlink_to(sys.executable)
    app = App(novella_index, tmp, characters=characters, new_books={"雪夜.txt": SNOW, "海图.md": CHART},
              env={"PATH": str(tools)})
    yield app
    app.stop()


def sidebar(page: Page):
    return page.locator('[data-testid="stSidebar"]')


def pick_book(page: Page, label: str) -> None:
    sidebar(page).locator('[data-testid="stSelectbox"]').first.click()
    page.get_by_role("option", name=label).click()


def set_slider(page: Page, label: str, chapter: int, last: int) -> None:
    """Move the chapter slider of a book with ``last`` chapters to ``chapter`` with the keyboard (Home: chapter 1)."""
    thumb = sidebar(page).locator('[data-testid="stSlider"]').filter(has_text=label).get_by_role("slider")
    expect(thumb).to_have_attribute("max", str(last), timeout=15000)  # the book's own slider is drawn
    thumb.focus()
    with a_run(page):  # the value reaches the server with the run it starts
        thumb.press("Home")
        for _ in range(chapter - 1):
            thumb.press("ArrowRight")
        expect(thumb).to_have_value(str(chapter))


def expect_slider(page: Page, label: str, chapter: int) -> None:
    thumb = sidebar(page).locator('[data-testid="stSlider"]').filter(has_text=label).get_by_role("slider")
    expect(thumb).to_have_value(str(chapter), timeout=15000)  # once the switch's run has drawn the page


def download_export(page: Page) -> str:
    with page.expect_download(timeout=30000) as download:
        sidebar(page).get_by_text("导出对话", exact=False).click()
    return Path(download.value.path()).read_text(encoding="utf-8")


def test_the_export_downloads_while_a_book_is_being_indexed(browser, reader_app):
    """The page's progress timer ticks while 雪夜's vectors are built: each download still gets its file."""
    page = open_page(browser, reader_app, "export-indexing")
    ask(page, "何伯船上那条黄狗叫什么？")
    expect(sidebar(page).get_by_text("正在建索引", exact=False)).to_be_visible(timeout=30000)
    for _ in range(3):
        transcript = download_export(page)
        assert "何伯船上那条黄狗叫什么？" in transcript and "锅巴" in transcript
        with a_run(page, timeout=15000):  # a progress tick between downloads
            pass
    expect(sidebar(page).get_by_text("正在建索引", exact=False)).to_be_visible()  # it was indexing throughout


def test_each_books_limit_survives_switching_and_all_books_keeps_each(browser, reader_app):
    page = open_page(browser, reader_app, "limits")
    pick_book(page, ZH_BOOK)
    thumb = sidebar(page).locator('[data-testid="stSlider"]').filter(has_text="读到了").get_by_role("slider")
    expect(thumb).to_have_attribute("min", "1")  # chapter 0 would answer nothing
    set_slider(page, "读到了", 3, last=8)
    pick_book(page, "《雪夜》")
    set_slider(page, "读到了", 5, last=60)
    pick_book(page, ZH_BOOK)
    expect_slider(page, "读到了", 3)
    expect(page.locator('[data-testid="stChatMessage"]').first).to_contain_text("你读到《青石镇的灯》第 3 章")
    ask(page, "周怀德在永丰号做什么？")  # the answer is in chapter 6: past the limit, never quoted
    reply = page.locator('[data-testid="stChatMessage"]').last
    assert "第六章" not in reply.inner_text() and "第七章" not in reply.inner_text()
    pick_book(page, "全部书")
    sidebar(page).get_by_text("每本书我读到了第几章").click()
    expect_slider(page, ZH_BOOK, 3)
    expect_slider(page, "《雪夜》", 5)
    page.screenshot(path=str(ARTIFACTS / "limits.png"), full_page=True)


def test_conversations_survive_switching_and_the_export_is_the_one_shown(browser, reader_app):
    page = open_page(browser, reader_app, "conversations")
    messages = page.locator('[data-testid="stChatMessage"]')
    pick_book(page, ZH_BOOK)
    ask(page, "何伯船上那条黄狗叫什么？")
    sidebar(page).get_by_text("角色扮演", exact=True).click()
    sidebar(page).locator('[data-testid="stSelectbox"]').nth(1).click()
    page.get_by_role("option", name="林晓（青石镇的灯）").click()
    ask(page, "你爹在哪儿？")
    expect(messages).to_have_count(3)
    sidebar(page).get_by_text("问答", exact=True).click()
    expect(messages.nth(1)).to_contain_text("何伯船上那条黄狗叫什么？")  # the first conversation, back
    expect(messages).to_have_count(3)
    transcript = download_export(page)
    assert "何伯船上那条黄狗叫什么？" in transcript and "你爹在哪儿？" not in transcript
    sidebar(page).get_by_text("角色扮演", exact=True).click()
    expect(messages.nth(1)).to_contain_text("你爹在哪儿？")
    page.screenshot(path=str(ARTIFACTS / "conversations.png"), full_page=True)


def test_uploads_never_replace_a_book_and_refusals_say_why(browser, reader_app, tmp_path):
    page = open_page(browser, reader_app, "uploads")
    uploader = page.locator('[data-testid="stFileUploaderDropzoneInput"]')
    expect(sidebar(page).get_by_text("64MB", exact=False)).to_be_visible()  # Streamlit's limit is the app's
    original = (reader_app.corpus / "雪夜.txt").read_bytes()
    other = tmp_path / "雪夜.txt"
    other.write_text("第一章 天明\n\n雪停了，掌柜开了门。\n", encoding="utf-8")
    uploader.set_input_files(str(other))
    expect(sidebar(page).get_by_text("雪夜 (2).txt", exact=False).first).to_be_visible(timeout=30000)
    assert (reader_app.corpus / "雪夜.txt").read_bytes() == original
    assert (reader_app.corpus / "雪夜 (2).txt").read_text(encoding="utf-8").startswith("第一章 天明")
    empty = tmp_path / "空白.txt"
    empty.write_bytes(b"")
    before = sorted(p.name for p in reader_app.corpus.iterdir())
    uploader.set_input_files(str(empty))
    expect(sidebar(page).get_by_text("was not added", exact=False)).to_be_visible(timeout=30000)
    expect(sidebar(page).get_by_text("empty", exact=False).first).to_be_visible()
    assert sorted(p.name for p in reader_app.corpus.iterdir()) == before  # nothing left behind
    page.screenshot(path=str(ARTIFACTS / "uploads.png"), full_page=True)


def test_the_rough_edges_a_new_reader_met_are_gone(browser, reader_app):
    page = open_page(browser, reader_app, "rough-edges")
    side = sidebar(page)
    expect(side.get_by_text("仅检索模式", exact=False).first).to_be_visible()
    side.get_by_text("如何接入对话模型").click()
    expect(side.get_by_text("NOVELCHAT_LLM_BASE_URL", exact=False).first).to_be_visible()
    assert "Choose an option" not in page.content() and "《》" not in side.inner_text()
    # no ffmpeg here, but kokoro writes WAV, joined with the standard library: no "ffmpeg missing" notice
    # (tests/unit/test_voice_offline.py decides when that notice is due)
    pick_book(page, ZH_BOOK)
    side.get_by_text("角色扮演", exact=True).click()
    side.get_by_text("从书中创建角色").click()
    side.get_by_label("角色名").fill("周怀德")
    side.get_by_label("角色名").press("Enter")
    side.get_by_role("button", name="创建角色卡").click()
    saved = reader_app.characters / "周怀德_青石镇的灯.json"
    expect(side.get_by_text(str(saved), exact=False)).to_be_visible(timeout=60000)
    assert saved.exists()
    text = reader_app.log_text()
    assert "You can now view your Streamlit app" not in text and text.count("书聊已启动") == 1
    page.screenshot(path=str(ARTIFACTS / "rough-edges.png"), full_page=True)


def test_book_text_is_shown_as_written_never_as_markdown(browser, reader_app):
    """Issue #13: a book holding Markdown (an image pointing anywhere, bold text) is shown as written: the reader's
    browser fetches nothing."""
    page = open_page(browser, reader_app, "markdown-book")
    fetched: list[str] = []
    page.on("request", lambda request: fetched.append(request.url))
    pick_book(page, "《海图》")
    ask(page, "老船长把海图挂在哪里？")
    reply = page.locator('[data-testid="stChatMessage"]').last
    expect(reply).to_contain_text(f"![海图]({PIXEL})")
    expect(reply).to_contain_text("**不要出海**")
    expect(reply.locator("img")).to_have_count(0)
    settled(page)
    assert not [url for url in fetched if "chart.png" in url], fetched


def test_a_tampered_upload_is_refused_in_one_line_and_the_uploader_stays(browser, reader_app, tmp_path):
    """Issue #13: a file the browser would not send (its name rewritten to evil.py on the way) is refused in one
    line, not a traceback, nothing is saved, and the uploader is there for the next file."""
    page = open_page(browser, reader_app, "tampered-upload")

    def rename(route):
        body = route.request.post_data_buffer.replace(b'filename="evil.txt"', b'filename="evil.py"')
        route.continue_(post_data=body)

    page.route("**/_stcore/upload_file/**", rename)
    evil = tmp_path / "evil.txt"
    evil.write_text("import os\nos.system('echo hi')\n", encoding="utf-8")
    before = sorted(p.name for p in reader_app.corpus.iterdir())
    page.locator('[data-testid="stFileUploaderDropzoneInput"]').set_input_files(str(evil))
    expect(sidebar(page).get_by_text("was not added", exact=False)).to_be_visible(timeout=30000)
    expect(sidebar(page).get_by_text("only .txt, .md, .epub files", exact=False)).to_be_visible()
    assert "Traceback" not in page.content() and not page.locator('[data-testid="stException"]').count()
    assert sorted(p.name for p in reader_app.corpus.iterdir()) == before
    page.unroute("**/_stcore/upload_file/**")
    sidebar(page).get_by_text("重新扫描", exact=False).click()  # any click: the page is drawn again
    expect(page.locator('[data-testid="stFileUploaderDropzoneInput"]')).to_have_count(1, timeout=30000)
