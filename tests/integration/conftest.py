"""What the browser tests share: start.py serving a copy of an index (``App``), Debian chromium driven by Playwright
(the ``browser`` fixture), and the page helpers (open a page, ask and wait for the reply, wait for script runs).
Screenshots go to ``test-artifacts/``."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect, sync_playwright

from novelchat.cli.start import wait_until_healthy
from novelchat.roleplay.cards import CHARACTERS_DIR
from tests.conftest import HANG_S, ROOT, free_port, require

CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = ROOT / "test-artifacts"
WIND = "北风吹过山口，雪落在屋檐上，炉火噼啪作响。" * 40  # filler: ~20k characters in all, so its vectors take a while


class App:
    """start.py serving a copy of the novella's index, optionally with a chat model."""

    def __init__(self, novella_index, tmp: Path, llm_url: str = "", model: str = "", characters: Path = CHARACTERS_DIR,
                 new_books: dict[str, str] | None = None, env: dict[str, str] | None = None):
        self.corpus, self.persist, self.characters = tmp / "corpus", tmp / "chroma", characters
        shutil.copytree(novella_index.corpus_dir, self.corpus)
        shutil.copytree(novella_index.persist_dir, self.persist)
        for name, text in (new_books or {}).items():  # not indexed yet: start.py and the app index them
            (self.corpus / name).write_text(text, encoding="utf-8")
        self.port = free_port()
        env = {**os.environ, "NOVELCHAT_LLM_BASE_URL": llm_url, "NOVELCHAT_LLM_MODEL": model,
               "NOVELCHAT_VOICE_CACHE_DIR": str(tmp / "voice"), "PYTHONUNBUFFERED": "1",
               "NOVELCHAT_CHARACTERS_DIR": str(characters), **(env or {})}
        command = [sys.executable, "start.py", "--port", str(self.port), "--corpus", str(self.corpus),
                   "--persist", str(self.persist)]
        self.started = time.perf_counter()
        self.log_path = tmp / "start.log"
        self.log = self.log_path.open("w")
        self.process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=self.log, stderr=subprocess.STDOUT)
        self.url = f"http://127.0.0.1:{self.port}/"

    def wait_until_serving(self, timeout: float = 60) -> None:
        """Return once the server answers its health check (what start.py itself waits for)."""
        assert wait_until_healthy(f"{self.url}_stcore/health", self.process, timeout), "start.py did not serve the page"

    def log_text(self) -> str:
        """What start.py and the app printed so far."""
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=20)
        self.log.close()


@pytest.fixture(scope="module")
def browser():
    """Debian chromium, headless (skipped without it; mandatory in CI)."""
    require(Path(CHROMIUM).exists() and shutil.which("ffmpeg") is not None,
            "browser tests need Debian chromium and ffmpeg (apt-get install chromium fonts-noto-cjk ffmpeg)")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync"],
        )
        yield launched
        launched.close()


def open_page(browser, app: App, name: str, clock: bool = False) -> Page:
    """A new page (its own session) on the app, once the greeting shows; ``clock``: timers the test can pause."""
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    if clock:
        page.clock.install()  # time flows as usual until the test pauses it
    app.wait_until_serving()
    page.goto(app.url, timeout=30000)
    expect(page.locator('[data-testid="stChatMessage"]').first).to_be_visible(timeout=30000)
    expect(page.locator(".st-key-model-loading")).to_have_count(0, timeout=180000)  # a local model loads meanwhile
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}-greeting.png"))
    return page


SCRIPT_STATE = "data-test-script-state"  # Streamlit marks its root with the script's state: running, notRunning, …
COUNT_RUNS = """state => {  // counts the runs that start from now on
    const root = document.querySelector('[data-testid="stApp"]');
    window.novelchatRuns = 0;
    window.novelchatRunWatch?.disconnect();
    window.novelchatRunWatch = new MutationObserver(records => {  // each record's new value: the next one's old
        const values = [...records.slice(1).map(r => r.oldValue), root.getAttribute(state)];
        window.novelchatRuns += values.filter(value => value === "running").length;
    });
    window.novelchatRunWatch.observe(root, {attributes: true, attributeOldValue: true, attributeFilter: [state]});
}"""


def settled(page: Page, timeout: float = 60000) -> None:
    """Wait until no script run (page or fragment) is in progress."""
    expect(page.locator('[data-testid="stApp"]')).to_have_attribute(SCRIPT_STATE, "notRunning", timeout=timeout)


@contextmanager
def a_run(page: Page, timeout: float = 30000) -> Iterator[None]:
    """Wait, after the block, for a script run that started after the block began to have ended (e.g. the run a
    widget's new value starts once the browser sends it)."""
    page.evaluate(COUNT_RUNS, SCRIPT_STATE)
    yield
    page.wait_for_function("() => window.novelchatRuns > 0", timeout=timeout)
    settled(page, timeout)


def ask(page: Page, text: str) -> None:
    """Type a message, send it, and wait until the reply has finished streaming."""
    messages = page.locator('[data-testid="stChatMessage"]')
    before = messages.count()
    box = page.locator('[data-testid="stChatInputTextArea"]')
    for _ in range(3):  # a rerun that lands while typing can swallow the first Enter
        expect(box).to_have_count(1, timeout=30000)  # while a rerun swaps the input (new character), both show
        expect(box).to_be_editable(timeout=30000)
        settled(page)
        box.fill(text)
        box.press("Enter")
        try:  # sent once the question shows; never sent again (a busy machine may take long to answer)
            expect(messages.nth(before)).to_contain_text(text, timeout=20000)
            break
        except AssertionError:
            continue
    expect(messages).to_have_count(before + 2, timeout=HANG_S * 1000)
    expect(box).to_have_count(1, timeout=60000)
    expect(box).to_be_editable(timeout=60000)
    settled(page)
