"""Many readers at once: N real chromium pages open `python start.py` together, then each asks questions.

For N = 1, 4, 8 (``--readers``) it reports, per scenario, how long the pages took to be ready (greeting shown,
chat input editable; from the moment all N start loading) and how long each answer took (Enter until the reply is
written to the end, its sources shown), p50 / p95 over all readers' questions, and the CPU seconds the server used
meanwhile (the browser runs on the same machine, so the times include its work too). Scenarios, each on its own
server:

- baseline: a bare Streamlit chat page (a greeting, st.chat_input, a one-line reply) served headless, with no file
  watcher and the minimal toolbar, as start.py serves the app;
- NovelChat with the novella's index complete (nothing indexing);
- NovelChat while a book is indexing: 西游记 added to the corpus, so the app embeds it in the background
  throughout (needs ../shared/data; skipped with a note if absent).

A server is warmed with one page asking one question (not timed) before its first N. No model: retrieval-only
answers, so what is measured is the web app, not a language model. Goals: 8 pages ready within 20 s; answer p95
with 8 readers under 3x the single-reader p95.

  python bench/page_load.py [--readers 1 4 8] [--questions 3] [--scenarios baseline complete indexing]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import _common as C
from playwright.async_api import Browser, Page, async_playwright, expect

from novelchat.index.build import build_index

CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]
QUESTIONS = ["何伯船上那条黄狗叫什么？", "望河楼有几层？", "林晓家开的灯铺叫什么名字？", "林守拙是哪天夜里失踪的？"]
BARE_APP = """import streamlit as st
messages = st.session_state.setdefault("messages", [("assistant", "你好")])
for role, text in messages:
    with st.chat_message(role):
        st.write(text)
if prompt := st.chat_input("说点什么"):
    messages.append(("user", prompt))
    messages.append(("assistant", f"出处：{prompt}"))
    for role, text in messages[-2:]:
        with st.chat_message(role):
            st.write(text)
"""
READY = "NovelChat is running"  # start.py's line once the keyword index is in and the server answers
XIYOUJI = C.DATA / "zh" / "西游记.txt"
STREAMLIT_FLAGS = ["--server.headless", "true", "--browser.gatherUsageStats", "false",
                   "--server.fileWatcherType", "none", "--client.toolbarMode", "minimal"]


@dataclass
class Figures:
    """One scenario at one N: seconds until each page was ready, and each answer's seconds."""

    ready: list[float] = field(default_factory=list)
    answers: list[float] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    server_cpu: float = 0.0


class Server:
    """A server process (start.py or a bare Streamlit page) on a free port, stopped on exit."""

    def __init__(self, command: list[str], port: int, log: Path, env: dict[str, str] | None = None):
        self.url, self.log = f"http://127.0.0.1:{port}/", log
        with log.open("w") as out:
            self.process = subprocess.Popen(command, cwd=C.REPO, stdout=out, stderr=subprocess.STDOUT,
                                            env={**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})})

    def wait(self, marker: str, timeout: float = 180) -> None:
        """Until ``marker`` appears in the server's output (it says it is serving)."""
        deadline = time.monotonic() + timeout
        while marker not in self.log.read_text(encoding="utf-8", errors="replace"):
            if self.process.poll() is not None or time.monotonic() > deadline:
                sys.exit(f"server did not start; its output is in {self.log}")
            time.sleep(0.2)

    def cpu_seconds(self) -> float:
        """CPU time used so far by the server and its children (start.py runs Streamlit as a child)."""
        return sum(_cpu_seconds(pid) for pid in _tree(self.process.pid))

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=30)


def _tree(pid: int) -> list[int]:
    """``pid`` and its descendants (Linux /proc): the children of every thread (the app's build child is started by
    a worker thread, not the main one)."""
    children = [child for task in Path(f"/proc/{pid}/task").iterdir()
                for child in (task / "children").read_text().split()]
    return [pid, *(descendant for child in children for descendant in _tree(int(child)))]


def _cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of one process (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def open_reader(browser: Browser, url: str, started: float) -> tuple[Page, float]:
    """A new page (its own session) and the seconds from ``started`` until it was ready."""
    page = await browser.new_page(viewport={"width": 1280, "height": 900})
    await page.goto(url, timeout=120000)
    await expect(page.locator('[data-testid="stChatMessage"]').first).to_be_visible(timeout=180000)
    await expect(page.locator('[data-testid="stChatInputTextArea"]')).to_be_editable(timeout=180000)
    return page, time.perf_counter() - started


async def ask(page: Page, question: str) -> float:
    """Seconds from Enter until the reply is written to the end (its sources shown)."""
    messages = page.locator('[data-testid="stChatMessage"]')
    before = await messages.count()
    box = page.locator('[data-testid="stChatInputTextArea"]')
    await expect(box).to_be_editable(timeout=60000)
    await box.fill(question)
    started = time.perf_counter()
    await box.press("Enter")
    await expect(messages).to_have_count(before + 2, timeout=120000)
    await expect(messages.last.get_by_text("出处", exact=False)).to_be_visible(timeout=120000)
    return time.perf_counter() - started


async def reader(page: Page, questions: int, offset: int, figures: Figures) -> None:
    """One reader asking ``questions`` questions in a row, each once."""
    for number in range(questions):
        try:
            figures.answers.append(await ask(page, QUESTIONS[(offset + number) % len(QUESTIONS)]))
        except AssertionError as error:
            figures.failures.append(str(error).splitlines()[0])


async def measure(browser: Browser, server: Server, readers: int, questions: int) -> Figures:
    """N pages opened at once, then every reader asking its questions at the same time."""
    figures = Figures()
    cpu, started = server.cpu_seconds(), time.perf_counter()
    opened = await asyncio.gather(*(open_reader(browser, server.url, started) for _ in range(readers)),
                                  return_exceptions=True)
    pages = []
    for result in opened:
        if isinstance(result, BaseException):
            figures.failures.append(f"page never ready: {str(result).splitlines()[0]}")
        else:
            pages.append(result[0])
            figures.ready.append(result[1])
    await asyncio.gather(*(reader(page, questions, number, figures) for number, page in enumerate(pages)))
    figures.server_cpu = server.cpu_seconds() - cpu
    for page in pages:
        await page.close()
    return figures


async def run_scenario(name: str, server: Server, marker: str, readers: list[int], questions: int
                       ) -> dict[int, Figures]:
    """Warm the server with one page and question, then measure each N (pages closed in between)."""
    print(f"{name}: starting …", flush=True)
    results = {}
    try:
        server.wait(marker)
        async with async_playwright() as playwright:
            browser = await playwright.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
            await warm_up(browser, server.url)
            for count in readers:
                results[count] = await measure(browser, server, count, questions)
                print(f"  {count} readers: {summary(results[count])}", flush=True)
                await asyncio.sleep(3)  # closed sessions wind down
            await browser.close()
    finally:
        server.stop()
    return results


async def warm_up(browser: Browser, url: str) -> None:
    """One page and one question, not timed: what a process loads once (query embedder, books) is not measured."""
    page, _ = await open_reader(browser, url, time.perf_counter())
    try:
        await ask(page, QUESTIONS[-1])
    except AssertionError as error:
        print(f"  warm-up question not answered: {str(error).splitlines()[0]}", flush=True)
    await page.close()


def summary(figures: Figures) -> str:
    ready = f"ready p50 {C.percentile(figures.ready, 50):5.1f} s, max {max(figures.ready, default=float('nan')):5.1f} s"
    answers = (f"answer p50 {C.percentile(figures.answers, 50):5.2f} s, "
               f"p95 {C.percentile(figures.answers, 95):5.2f} s ({len(figures.answers)})")
    lost = f", {len(figures.failures)} failed: {figures.failures[0]}" if figures.failures else ""
    return f"{ready}; {answers}; server CPU {figures.server_cpu:.1f} s{lost}"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def bare_page(work: Path) -> Server:
    """The baseline: a bare Streamlit chat page, served as start.py serves the app."""
    (work / "bare.py").write_text(BARE_APP, encoding="utf-8")
    port = free_port()
    return Server([sys.executable, "-m", "streamlit", "run", str(work / "bare.py"), "--server.port", str(port),
                   *STREAMLIT_FLAGS], port, work / "bare.log")


def start_py(work: Path, corpus: Path, name: str) -> Server:
    """``python start.py`` on ``corpus`` and the index folder ``chroma-<name>``, without a chat model."""
    port = free_port()
    command = [sys.executable, "start.py", "--port", str(port), "--corpus", str(corpus),
               "--persist", str(work / f"chroma-{name}")]
    return Server(command, port, work / f"{name}.log", {"NOVELCHAT_LLM_BASE_URL": "", "NOVELCHAT_LLM_MODEL": ""})


def indexing(work: Path) -> Server:
    """NovelChat with 西游记 just added: start.py gives it a keyword index, the app embeds it meanwhile."""
    corpus = work / "corpus-indexing"
    shutil.copytree(work / "corpus", corpus)
    shutil.copy(XIYOUJI, corpus / XIYOUJI.name)
    shutil.copytree(work / "chroma-complete", work / "chroma-indexing")
    return start_py(work, corpus, "indexing")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--readers", type=int, nargs="+", default=[1, 4, 8])
    parser.add_argument("--questions", type=int, default=3, help="questions each reader asks (default 3)")
    parser.add_argument("--scenarios", nargs="+", choices=["baseline", "complete", "indexing"],
                        default=["baseline", "complete", "indexing"], help="which scenarios to run (default: all)")
    args = parser.parse_args()
    if not Path("/usr/bin/chromium").exists():
        sys.exit("needs Debian chromium: apt-get install chromium fonts-noto-cjk")
    every: dict[str, tuple[str, Callable[[Path], Server], str]] = {
        "baseline": ("baseline: bare Streamlit chat page", bare_page, "URL:"),
        "complete": ("NovelChat, index complete", lambda work: start_py(work, work / "corpus", "complete"), READY),
        "indexing": ("NovelChat, 西游记 indexing meanwhile", indexing, READY),
    }
    if not XIYOUJI.is_file() and "indexing" in args.scenarios:
        print(f"(no {XIYOUJI}: the 'while a book is indexing' scenario is skipped)")
        args.scenarios.remove("indexing")
    scenarios = {name: (make, marker) for key, (name, make, marker) in every.items() if key in args.scenarios}
    with tempfile.TemporaryDirectory(prefix="nc-load-") as folder:
        work = Path(folder)
        shutil.copytree(C.REPO / "corpus", work / "corpus")
        print("building the novella index once (not timed) …", flush=True)
        build_index(C.settings_for(work / "corpus", work / "chroma-complete"))
        results = {name: asyncio.run(run_scenario(name, make(work), marker, args.readers, args.questions))
                   for name, (make, marker) in scenarios.items()}
    print_table(results, args.readers)
    return 0


def print_table(results: dict[str, dict[int, Figures]], readers: list[int]) -> None:
    print("\n| scenario | readers | page ready p50 / max (s) | answer p50 / p95 (s) | server CPU (s) | failed |")
    print("|---|---|---|---|---|---|")
    for name, by_count in results.items():
        for count in readers:
            figures = by_count.get(count)
            if figures is None:
                continue
            print(f"| {name} | {count} | {C.percentile(figures.ready, 50):.1f} / "
                  f"{max(figures.ready, default=float('nan')):.1f} | {C.percentile(figures.answers, 50):.2f} / "
                  f"{C.percentile(figures.answers, 95):.2f} | {figures.server_cpu:.1f} | {len(figures.failures)} |")
    most = max(readers)
    for name, by_count in results.items():
        if name.startswith("baseline") or most not in by_count or min(readers) not in by_count:
            continue
        crowd, alone = by_count[most], by_count[min(readers)]
        ready = max(crowd.ready, default=float("inf"))
        ratio = C.percentile(crowd.answers, 95) / C.percentile(alone.answers, 95)
        print(f"{name}: {most} pages ready in {ready:.1f} s (goal 20 s: {C.verdict(ready <= 20)}); answer p95 "
              f"{ratio:.1f}x the {min(readers)}-reader p95 (goal < 3x: {C.verdict(ratio < 3)})")


if __name__ == "__main__":
    raise SystemExit(main())
