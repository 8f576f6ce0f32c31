"""English books are first-class in the page (Streamlit's AppTest runs app.py in-process on a library holding the
Chinese novella and an English story): the book selector's first choice reads "All books", a book's own language
picks the page's words and greeting until the reader picks one, the reader's pick survives a reload (?lang=en), and
the character picked by default is one of the chosen book."""

from __future__ import annotations

import json
import shutil

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from novelchat.config import get_settings
from novelchat.index.build import build_index
from novelchat.roleplay.cards import CHARACTERS_DIR
from tests.conftest import GULL_POINT, ROOT, make_settings

STORY = "The Lamp at Gull Point"
NOVELLA_TITLE = "青石镇的灯"
MARTA = {"spec": "chara_card_v2", "spec_version": "2.0",
         "data": {"name": "Marta Quill", "description": "The keeper of the lighthouse on Gull Point.",
                  "first_mes": "Mind the steps.", "extensions": {"novelchat": {"book": STORY}}}}


@pytest.fixture(scope="module")
def two_books(novella_index, tmp_path_factory):
    """The novella's index with the English story added; the Chinese cards alone, or with one card of the story."""
    base = tmp_path_factory.mktemp("two-books")
    shutil.copytree(novella_index.corpus_dir, base / "corpus")
    shutil.copytree(novella_index.persist_dir, base / "chroma")
    shutil.copy(GULL_POINT, base / "corpus" / GULL_POINT.name)
    build_index(make_settings(base / "corpus", base / "chroma"))  # only the story is new
    with_marta = base / "with-marta"
    shutil.copytree(CHARACTERS_DIR, with_marta)
    (with_marta / "marta.json").write_text(json.dumps(MARTA), encoding="utf-8")
    return base, with_marta


@pytest.fixture
def page(two_books, monkeypatch):
    """A fresh page on the two books (no chat model); ``page(characters)`` opens it."""
    base, _ = two_books

    def open_page(characters=CHARACTERS_DIR, **query: str) -> AppTest:
        for name, value in {"CORPUS_DIR": base / "corpus", "PERSIST_DIR": base / "chroma", "LLM_MODEL": "",
                            "LLM_BASE_URL": "", "CHARACTERS_DIR": characters}.items():
            monkeypatch.setenv(f"NOVELCHAT_{name}", str(value))
        get_settings.cache_clear()
        st.cache_resource.clear()  # each page its own library and loader, as a fresh server has
        st.cache_data.clear()
        app = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
        for key, value in query.items():
            app.query_params[key] = value
        return app.run()

    yield open_page
    get_settings.cache_clear()
    st.cache_resource.clear()


def greeting(app: AppTest) -> str:
    return app.chat_message[0].markdown[0].value


def test_the_book_selector_starts_on_all_books(page):
    app = page()
    books = app.selectbox(key="book")
    assert not app.exception
    assert books.index == 0 and books.options[0] == "全部书"  # not an empty choice showing "请选择"


def test_an_english_book_makes_the_page_english_until_the_reader_picks_a_language(page):
    app = page()
    assert app.title[0].value == "书聊" and greeting(app).startswith("你好")  # two languages: Chinese, the default
    app.selectbox(key="book").select(STORY).run()
    assert app.title[0].value == "NovelChat" and app.radio(key="lang").value == "en"
    assert greeting(app).startswith(f"Hello! I am NovelChat, and I have read *{STORY}*.")
    assert "你好" not in greeting(app)
    app.selectbox(key="book").select(NOVELLA_TITLE).run()
    assert app.title[0].value == "书聊"
    app.radio(key="lang").set_value("en").run()  # the reader's choice wins over the book's
    assert app.title[0].value == "NovelChat" and app.query_params["lang"] in ("en", ["en"])
    app.selectbox(key="book").select(STORY).run()
    app.selectbox(key="book").select(NOVELLA_TITLE).run()
    assert app.title[0].value == "NovelChat"


def test_the_language_in_the_address_survives_a_reload(page):
    app = page(lang="en")  # what a reload of a page where the reader chose English opens
    assert app.title[0].value == "NovelChat" and app.radio(key="lang").value == "en"
    assert app.selectbox(key="book").options[0] == "All books"


def test_the_character_picked_first_is_one_of_the_chosen_book(page, two_books):
    app = page(two_books[1])
    app.selectbox(key="book").select(NOVELLA_TITLE).run()
    app.radio(key="mode").set_value("roleplay").run()
    assert app.selectbox(key="persona").value.book == NOVELLA_TITLE  # not Marta, first by name
    app.selectbox(key="book").select(STORY).run()
    assert app.selectbox(key="persona").value.name == "Marta Quill"


def test_a_book_with_no_card_offers_none_of_another_books_characters(page):
    app = page()
    app.selectbox(key="book").select(STORY).run()
    app.radio(key="mode").set_value("roleplay").run()
    assert app.selectbox(key="persona").value is None  # not 白霜
    assert any(STORY in caption.value for caption in app.sidebar.caption)


def test_an_english_page_shows_the_english_half_of_the_model_status(page, monkeypatch):
    """Statuses and errors come as "中文 / English": an English page shows the English half, a Chinese one both."""
    monkeypatch.setenv("NOVELCHAT_LLM_BACKEND", "transformers")  # and no model named
    english = " ".join(c.value for c in page(lang="en").caption)
    assert "NOVELCHAT_LLM_MODEL is empty" in english and "未设置" not in english
    chinese = " ".join(c.value for c in page(lang="zh").caption)
    assert "未设置本地模型 / NOVELCHAT_LLM_MODEL is empty" in chinese


def test_an_english_page_shows_the_english_half_of_a_retrieval_notice(page, monkeypatch):
    """The embeddings server is down: the reply's notice (keyword search only) is in the page's language."""
    monkeypatch.setenv("NOVELCHAT_EMBEDDING_BACKEND", "openai")
    monkeypatch.setenv("NOVELCHAT_EMBEDDING_URL", "http://127.0.0.1:9/v1")
    app = page(lang="en")
    app.chat_input[0].set_value("How many steps does the lighthouse have?").run()
    notices = [c.value for c in app.caption if c.value.startswith("ℹ️")]
    assert len(notices) == 2 and all(n.startswith("ℹ️ vectors for ") for n in notices), notices  # not 向量索引…
