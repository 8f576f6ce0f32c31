"""The one command: make sure the index exists, then serve the app on http://127.0.0.1:7860.

  python start.py [--host 127.0.0.1] [--port 7860] [--base-url-path novelchat] [--no-xsrf]

The server starts at once while new or changed books get their keyword index (seconds, with progress
here); the page lists each book as soon as it is ready, and the app then builds the vectors in the
background. Ctrl-C stops everything.
"""

from __future__ import annotations

import argparse
import math
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from novelchat.config import get_settings

ROOT = Path(__file__).resolve().parents[2]  # the repository: app.py and the working folder


def ensure_index(corpus: Path, persist: Path) -> None:
    """Build the keyword index of new or changed books now; vectors follow in the app."""
    from novelchat.cli.build import TqdmProgress, print_summary
    from novelchat.index.build import build_index, pending_work
    from novelchat.index.report import IndexBuildError

    settings = get_settings().with_(corpus_dir=corpus, persist_dir=persist)
    try:
        plan = pending_work(settings, dense=False)  # what the build below does, book by book
        if plan.refusal:
            print(f"索引问题 / index problem: {plan.refusal}", file=sys.stderr)
        elif plan.work:
            print(f"更新索引 / updating the index: {', '.join(plan.describe())}", file=sys.stderr)
            print_summary(build_index(settings, dense=False, progress=TqdmProgress()), persist)
    except IndexBuildError as error:
        print(f"索引问题 / index problem: {error.friendly}", file=sys.stderr)


def streamlit_command(args: argparse.Namespace, max_upload_mb: float) -> list[str]:
    """Streamlit serving the app: its welcome banner hidden (start.py prints one ready line when NovelChat is ready),
    its upload limit the app's own book-size limit."""
    command = [
        sys.executable, "-m", "streamlit", "run", str(ROOT / "app.py"),
        "--server.address", args.host, "--server.port", str(args.port), "--server.headless", "true",
        "--logger.hideWelcomeMessage", "true", "--server.maxUploadSize", str(max(1, math.ceil(max_upload_mb))),
        "--browser.gatherUsageStats", "false", "--server.fileWatcherType", "none", "--client.toolbarMode", "minimal",
        # Streamlit runs a full gc.collect() after every script run, each fragment tick included: with the models
        # and books loaded that is 0.1-0.5 s of CPU holding the GIL per run per page; Python's own GC suffices.
        "--runner.postScriptGC", "false",
    ]
    if args.base_url_path:
        command += ["--server.baseUrlPath", args.base_url_path.strip("/")]
    if args.no_xsrf:
        command += ["--server.enableXsrfProtection", "false", "--server.enableCORS", "false"]
    return command


def wait_until_healthy(url: str, process: subprocess.Popen, timeout: float = 60) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and process.poll() is None:
        try:
            with urllib.request.urlopen(url, timeout=1) as response:
                if response.status == 200:
                    return True
        except OSError:
            time.sleep(0.2)
    return False


def main(argv: list[str] | None = None) -> int:
    settings = get_settings()
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default: %(default)s)")
    parser.add_argument("--port", type=int, default=7860, help="port (default: %(default)s)")
    parser.add_argument("--base-url-path", default="", help="serve under a path prefix, e.g. for browser VS Code")
    parser.add_argument("--no-xsrf", action="store_true",
                        help="turn XSRF protection off (only behind a trusted proxy where uploads get 403)")
    parser.add_argument("--corpus", type=Path, default=settings.corpus_dir, help="novels folder (%(default)s)")
    parser.add_argument("--persist", type=Path, default=settings.persist_dir, help="index folder (%(default)s)")
    args = parser.parse_args(argv)
    if args.no_xsrf:
        print("警告：已关闭 XSRF 保护，只应在可信的代理之后这样做 / warning: XSRF protection is off; "
              "use this only behind a trusted proxy", file=sys.stderr)
    env = {**os.environ, "NOVELCHAT_CORPUS_DIR": str(args.corpus.resolve()),  # the app runs in this file's folder
           "NOVELCHAT_PERSIST_DIR": str(args.persist.resolve()),
           "NOVELCHAT_CHARACTERS_DIR": str(settings.characters_dir.resolve())}
    process = subprocess.Popen(streamlit_command(args, settings.max_file_mb), cwd=ROOT, env=env)
    signal.signal(signal.SIGTERM, lambda *_: process.terminate())
    prefix = f"/{args.base_url_path.strip('/')}" if args.base_url_path.strip("/") else ""
    url = f"http://{args.host}:{args.port}{prefix}/"
    try:
        ensure_index(args.corpus, args.persist)
        if wait_until_healthy(f"http://{args.host}:{args.port}{prefix}/_stcore/health", process):
            print(f"\n书聊已启动 / NovelChat is running: {url}\n"
                  f"VS Code：在“端口”面板转发 {args.port} 端口后打开 / VS Code: forward port {args.port} in the "
                  "Ports panel, then open it (browser VS Code: add --base-url-path).", flush=True)
        return process.wait()
    except KeyboardInterrupt:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
        print("已停止 / stopped", file=sys.stderr)
        return 0


if __name__ == "__main__":
    sys.exit(main())
