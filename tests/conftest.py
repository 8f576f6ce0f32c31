"""What every test folder shares: offline hub settings, paths (the repository, ../shared data, the sample books),
the sample indexes (built once per session), and helpers: servers, CLI runs, chat models, card files."""

from __future__ import annotations

import base64
import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from PIL import Image
from PIL.PngImagePlugin import PngInfo

os.environ.setdefault("HF_HUB_OFFLINE", "1")  # before the hub libraries are imported: they read it once
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")

from novelchat.config import Settings  # noqa: E402
from novelchat.index.build import build_index  # noqa: E402
from novelchat.models import load_chat_model  # noqa: E402
from novelchat.retrieval.library import Library  # noqa: E402
from novelchat.retrieval.passages import Passage, Retrieval  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = ROOT.parent / "shared" / "data"
NOVELLA = ROOT / "corpus" / "青石镇的灯.txt"
GULL_POINT = ROOT / "tests" / "data" / "The Lamp at Gull Point.txt"  # an original English story, 4 chapters
HANG_S = 120.0  # a wall-clock bound in a test catches a hang, never a slow machine: speed claims live in bench/
BOOK_A = "第一章 渡口\n\n老何在渡口摆了三十年的船，船名叫作青鸾号。\n\n第二章 风雨\n\n那夜风雨大作，灯笼是杏黄色的。\n"
BOOK_B = "第一章 茶馆\n\n茶馆掌柜姓周，养着一只叫墨团的黑猫。\n\n第二章 来客\n\n来客带来一把刻着梅花的铜钥匙。\n"


def shared_file(relative: str) -> Path:
    """A file under ../shared/data, or skip the test cleanly when it is absent."""
    path = SHARED_DATA / relative
    if not path.exists():
        pytest.skip(f"../shared/data/{relative} is not here")
    return path


def require(available: bool, reason: str) -> None:
    """Skip (module or test) when a system part is missing; in CI (NOVELCHAT_REQUIRE_BROWSER=1) fail instead."""
    if available:
        return
    if os.environ.get("NOVELCHAT_REQUIRE_BROWSER") == "1":
        raise RuntimeError(f"mandatory here but missing: {reason}")
    pytest.skip(reason, allow_module_level=True)


def free_port() -> int:
    """A local port with nothing listening on it (yet)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextmanager
def serve(command: list[str], ready_url: str, timeout: float = 30) -> Iterator[subprocess.Popen]:
    """Run a server process until ``ready_url`` answers; stop it on exit."""
    server = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + timeout
        while True:
            try:
                urllib.request.urlopen(ready_url, timeout=1)
                break
            except OSError:
                assert server.poll() is None and time.monotonic() < deadline, f"{command[0]} did not start"
                time.sleep(0.2)
        yield server
    finally:
        server.terminate()
        server.wait(timeout=10)


def run_cli(*args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    """``python ARGS`` run from the repository root, its output captured."""
    return subprocess.run([sys.executable, *args], cwd=ROOT, capture_output=True, text=True, timeout=timeout)


def passage(text: str, chapter: int = 1, title: str = "书", heading: str = "第{}章") -> Passage:
    """A hand-made passage of book ``title``, chapter ``chapter`` (its heading from ``heading``)."""
    return Passage("b", title, chapter, heading.format(chapter), 0, len(text), text)


def retrieve_all(library: Library, question: str, k: int, **options) -> Retrieval:
    """Retrieval over every indexed book, each read to the end (the reader's scope said explicitly, as a test's)."""
    return library.retrieve(question, library.scope_of_all(), k, **options)


def make_settings(corpus: Path, persist: Path, **overrides) -> Settings:
    """Settings for a test: no .env, the given folders."""
    return Settings(_env_file=None, corpus_dir=corpus, persist_dir=persist, **overrides)


def chat_model(server, folder: Path):
    """A chat model talking to ``server`` (a FakeOpenAIServer), giving up after 5 s."""
    return load_chat_model(make_settings(folder, folder, llm_base_url=server.base_url, llm_model=server.model,
                                         llm_timeout=5))


def write_png_card(path: Path, card: dict | None, chunk: str = "chara") -> None:
    """A PNG character card as SillyTavern exports it: a picture, the card as base64 JSON in a text chunk."""
    info = PngInfo()
    if card is not None:
        info.add_text(chunk, base64.b64encode(json.dumps(card, ensure_ascii=False).encode("utf-8")).decode("ascii"))
    Image.new("RGB", (64, 64), (200, 60, 40)).save(path, pnginfo=info)


def index_book(book: Path, base: Path) -> Settings:
    """One book copied into ``base``/corpus and indexed (lexical and dense) into ``base``/chroma."""
    corpus = base / "corpus"
    corpus.mkdir()
    shutil.copy(book, corpus / book.name)
    settings = make_settings(corpus, base / "chroma")
    report = build_index(settings)
    assert not report.warnings, report.warnings
    return settings


@pytest.fixture(scope="session")
def novella_index(tmp_path_factory) -> Settings:
    """The sample novella indexed (lexical and dense) once per test session."""
    return index_book(NOVELLA, tmp_path_factory.mktemp("novella"))


@pytest.fixture(scope="session")
def gull_point_index(tmp_path_factory) -> Settings:
    """The English story indexed once per test session (a few seconds)."""
    return index_book(GULL_POINT, tmp_path_factory.mktemp("gull-point"))


@pytest.fixture(scope="module")
def library(novella_index) -> Library:
    """The novella's index opened for reading (a test module may open its own)."""
    return Library(novella_index)
