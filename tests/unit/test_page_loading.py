"""The page while a model loads and the page's language: a local model loads in a worker thread (the page is
usable meanwhile and says how long a load usually takes); the reader's language choice, else the books'."""

from __future__ import annotations

import threading

import pytest

from novelchat.config import Settings
from novelchat.ui.i18n import TEXT, for_page, page_language
from novelchat.ui.model_loading import ModelLoader, usual_load_seconds, weights_mb
from tests.conftest import HANG_S


def test_a_measured_load_time_is_what_the_page_says_it_usually_takes():
    assert usual_load_seconds(98.0, gguf=True, measured=31.5) == 31.5


def test_without_a_measure_the_estimate_grows_with_the_weights_and_a_gguf_takes_longer():
    small, large = usual_load_seconds(100, False, None), usual_load_seconds(14_000, False, None)
    assert small is not None and large is not None and small < large
    assert usual_load_seconds(100, True, None) > small
    assert usual_load_seconds(None, False, None) is None  # a hub model not downloaded: unknown


def test_the_weights_of_a_folder_or_a_file_are_measured_and_a_hub_id_is_unknown(tmp_path):
    (tmp_path / "model.safetensors").write_bytes(b"\0" * 2_000_000)
    (tmp_path / "config.json").write_text("{}")
    assert weights_mb(str(tmp_path)) == pytest.approx(2.0)
    assert weights_mb(str(tmp_path / "model.safetensors")) == pytest.approx(2.0)
    assert weights_mb("internlm/internlm2_5-7b-chat") is None


def test_a_local_model_loads_in_the_background_and_a_failure_becomes_one_line(tmp_path):
    loader = ModelLoader(Settings(_env_file=None, llm_model=str(tmp_path / "missing")), tmp_path / "loads.json")
    assert not loader.loading and loader.result() == (None, None)
    loader.start()
    loader.start()  # once
    for thread in [t for t in threading.enumerate() if t.name == "novelchat-model-load"]:
        thread.join(timeout=HANG_S)
    llm, error = loader.result()
    assert llm is None and "missing" in error and not loader.loading
    assert not (tmp_path / "loads.json").exists()  # a failed load is no measure


def test_no_model_configured_is_settled_at_once_without_a_thread(tmp_path):
    loader = ModelLoader(Settings(_env_file=None, llm_model="", llm_base_url=""), tmp_path / "loads.json")
    loader.start()
    assert not loader.loading and loader.result() == (None, None)


@pytest.mark.parametrize(("chosen", "books", "language"), [
    (None, ["en"], "en"),  # an English book: the page in English
    (None, ["zh", "zh"], "zh"),
    (None, ["en", "zh"], "zh"),  # books in both: Chinese
    (None, [], "zh"),
    ("en", ["zh"], "en"),  # the reader's choice wins
    ("zh", ["en"], "zh"),
    ("fr", ["en"], "en"),  # an address with an unknown language: as if none were chosen
])
def test_the_page_language_is_the_readers_choice_else_the_books(chosen, books, language):
    assert page_language(chosen, books) == language


def test_every_notice_exists_in_both_languages():
    assert TEXT["zh"].keys() == TEXT["en"].keys()
    assert TEXT["en"]["all_books"] == "All books" and TEXT["zh"]["all_books"] == "全部书"


def test_a_bilingual_line_shows_its_english_half_on_an_english_page():
    line = "已连接模型服务：qwen / Connected to qwen at http://127.0.0.1:8000/v1."
    assert for_page(line, "en") == "Connected to qwen at http://127.0.0.1:8000/v1."
    assert for_page(line, "zh") == line
    assert for_page("Nothing in the book matches.", "en") == "Nothing in the book matches."
    assert for_page("a / b", "en") == "a / b"  # no Chinese half: left whole
    titled = "《青石镇的灯》的向量索引尚未完成 / vectors for 青石镇的灯 are not ready"
    assert for_page(titled, "en") == "vectors for 青石镇的灯 are not ready"  # a book's own title stays
