"""Page time-to-interactive: `python start.py` (index already built) until the greeting is on screen and the
chat input accepts text, in Debian chromium. Baseline in the same run: a bare Streamlit chat page
(one st.chat_message + st.chat_input) served with the same flags. Target: a working page in < 15 s.

  python bench/page_tti.py [--runs 3]
"""

from __future__ import annotations

import argparse
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import _common as C
from playwright.sync_api import sync_playwright

from novelchat.index.build import build_index

BARE_APP = """import streamlit as st
with st.chat_message("assistant"):
    st.write("你好")
st.chat_input("说点什么")
"""
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def time_to_interactive(browser, command: list[str], port: int) -> tuple[float, float]:
    """Seconds from launch until (health answers, greeting visible and input editable)."""
    started = time.perf_counter()
    process = subprocess.Popen(command, cwd=C.REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    page = browser.new_page()
    try:
        while True:
            try:
                page.goto(f"http://127.0.0.1:{port}/", timeout=2000)
                break
            except Exception:
                if time.perf_counter() - started > 120:
                    raise
                time.sleep(0.1)
        served = time.perf_counter() - started
        page.locator('[data-testid="stChatMessage"]').first.wait_for(timeout=60000)
        page.locator('[data-testid="stChatInputTextArea"]').wait_for(timeout=60000)
        return served, time.perf_counter() - started
    finally:
        page.close()
        process.terminate()
        process.wait(timeout=20)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    if not Path("/usr/bin/chromium").exists():
        sys.exit("needs Debian chromium: apt-get install chromium fonts-noto-cjk")
    with tempfile.TemporaryDirectory(prefix="nc-tti-") as folder:
        work = Path(folder)
        shutil.copytree(C.REPO / "corpus", work / "corpus")
        settings = C.settings_for(work / "corpus", work / "chroma")
        print("building the novella index once (not timed) …", flush=True)
        build_index(settings)
        (work / "bare.py").write_text(BARE_APP, encoding="utf-8")
        flags = ["--server.headless", "true", "--browser.gatherUsageStats", "false"]
        rows = {"NovelChat: python start.py": [], "baseline: bare Streamlit chat page": []}
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
            for _ in range(args.runs):
                port = free_port()
                rows["NovelChat: python start.py"].append(time_to_interactive(browser, [
                    sys.executable, "start.py", "--port", str(port), "--corpus", str(work / "corpus"),
                    "--persist", str(work / "chroma")], port))
                port = free_port()
                rows["baseline: bare Streamlit chat page"].append(time_to_interactive(browser, [
                    sys.executable, "-m", "streamlit", "run", str(work / "bare.py"), "--server.port", str(port),
                    *flags], port))
            browser.close()
    print("\nseconds from launch (best / worst of runs):")
    for name, samples in rows.items():
        served = [s for s, _ in samples]
        ready = [r for _, r in samples]
        print(f"  {name:<38} page served {min(served):5.1f} / {max(served):5.1f}   "
              f"greeting + input ready {min(ready):5.1f} / {max(ready):5.1f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
