"""Vectors on a real Chroma server (`chroma run`) instead of the local store: the scale-out path."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import AbstractContextManager
from pathlib import Path

import pytest

from novelchat.index import store
from novelchat.index.build import build_index
from novelchat.index.report import IndexBuildError
from novelchat.index.store import VectorStoreUnavailable, chroma_client, load_manifest
from novelchat.retrieval import library as retrieval
from novelchat.retrieval.library import Library
from tests.conftest import BOOK_A, BOOK_B, free_port, make_settings, retrieve_all, serve

SERVER_TIMEOUT_S = 2.0  # the wait for a Chroma server, made short here (the app's is store.SERVER_TIMEOUT_S)
CHROMA_CLI = [sys.executable, "-c", "import sys; from chromadb.cli.cli import app; sys.argv[0] = 'chroma'; app()"]


def chroma_server(path: Path) -> tuple[int, AbstractContextManager[subprocess.Popen]]:
    """`chroma run` on a free local port: the port, and a context manager that runs the server."""
    port = free_port()
    command = [*CHROMA_CLI, "run", "--path", str(path), "--host", "127.0.0.1", "--port", str(port)]
    return port, serve(command, f"http://127.0.0.1:{port}/api/v2/heartbeat")


@pytest.fixture(scope="module")
def server_url(tmp_path_factory) -> Iterator[str]:
    port, server = chroma_server(tmp_path_factory.mktemp("chroma-server"))
    with server:
        yield f"http://127.0.0.1:{port}"


def corpus_with(folder: Path, *books: tuple[str, str]) -> Path:
    folder.mkdir(parents=True)
    for name, text in books:
        (folder / name).write_text(text, encoding="utf-8")
    return folder


def collections_on(url: str) -> set[str]:
    return {c.name for c in chroma_client(Path("."), url).list_collections()}


def test_vectors_live_on_the_server_and_answer(server_url, tmp_path):
    settings = make_settings(corpus_with(tmp_path / "corpus", ("渡口.txt", BOOK_A)), tmp_path / "index",
                             chroma_url=server_url + "/")
    report = build_index(settings)
    assert not report.warnings and not report.dense_pending
    manifest = load_manifest(settings.persist_dir)
    (entry,) = manifest.books.values()
    assert manifest.vector_store == server_url and entry.dense_complete
    assert not (settings.persist_dir / "chroma.sqlite3").exists()  # nothing dense beside the index
    assert entry.collection in collections_on(server_url)
    result = retrieve_all(Library(settings), "灯笼是什么颜色", 1, mode="dense")
    assert not result.notes and "杏黄色" in result.passages[0].text


def test_two_indexes_share_a_server_without_touching_each_other(server_url, tmp_path):
    both = [("渡口.txt", BOOK_A), ("茶馆.txt", BOOK_B)]
    first = make_settings(corpus_with(tmp_path / "a", *both), tmp_path / "index-a", chroma_url=server_url)
    second = make_settings(corpus_with(tmp_path / "b", *both), tmp_path / "index-b", chroma_url=server_url)
    build_index(first)
    build_index(second)
    second_collections = {e.collection for e in load_manifest(second.persist_dir).books.values()}
    assert second_collections <= collections_on(server_url)

    (first.corpus_dir / "茶馆.txt").unlink()  # the first index drops a book and collects its garbage
    build_index(first)
    assert second_collections <= collections_on(server_url)
    result = retrieve_all(Library(second), "掌柜养的猫叫什么", 1, mode="dense")
    assert not result.notes and "墨团" in result.passages[0].text


def test_moving_a_local_index_to_a_server_needs_rebuild_and_embeds_each_book_once(server_url, tmp_path):
    local = make_settings(corpus_with(tmp_path / "corpus", ("渡口.txt", BOOK_A), ("茶馆.txt", BOOK_B)),
                          tmp_path / "index")
    build_index(local)
    remote = local.with_(chroma_url=server_url)
    with pytest.raises(IndexBuildError, match="--rebuild"):
        build_index(remote)
    result = retrieve_all(Library(remote), "墨团是什么", 1)
    assert result.passages[0].book == "茶馆" and "keyword search only" in result.notes[0]

    embedded: list[str] = []

    def note_embedded(stage: str, title: str, done: int, total: int) -> None:
        if stage == "dense" and done == total:
            embedded.append(title)

    build_index(remote, rebuild=True, progress=note_embedded)
    assert sorted(embedded) == ["渡口", "茶馆"]  # the versions being replaced are not embedded as well
    result = retrieve_all(Library(remote), "墨团是什么", 1, mode="dense")
    assert not result.notes and result.passages[0].book == "茶馆"


@pytest.fixture
def short_server_timeout(monkeypatch) -> float:
    """The Chroma server's timeout set to ``SERVER_TIMEOUT_S``, for the build's heartbeat and retrieval's searches."""
    monkeypatch.setattr(store, "SERVER_TIMEOUT_S", SERVER_TIMEOUT_S)
    monkeypatch.setattr(retrieval, "SERVER_TIMEOUT_S", SERVER_TIMEOUT_S)
    return SERVER_TIMEOUT_S


@pytest.mark.parametrize("trouble", ["down", "hanging"])
def test_an_unreachable_server_postpones_vectors_and_keywords_still_answer(tmp_path, trouble, short_server_timeout):
    with socket.socket() as hung:
        if trouble == "hanging":  # accepts connections, never answers
            hung.bind(("127.0.0.1", 0))
            hung.listen(8)
            port = hung.getsockname()[1]
        else:
            port = free_port()
        settings = make_settings(corpus_with(tmp_path / "corpus", ("渡口.txt", BOOK_A)), tmp_path / "index",
                                 chroma_url=f"http://127.0.0.1:{port}")
        started = time.perf_counter()
        report = build_index(settings)
        # a hanging server costs one wait of its configured timeout (3x: a busy machine), not a wait per book or try
        assert time.perf_counter() - started < 3 * short_server_timeout
        assert report.dense_pending == ["渡口"]
        assert "cannot reach the Chroma server" in report.warnings[0] and "\n" not in report.warnings[0]
        result = retrieve_all(Library(settings), "青鸾号", 1)
        assert result.passages[0].book == "渡口" and "keyword search only" in " ".join(result.notes)
        with pytest.raises(VectorStoreUnavailable, match="recently unreachable"):  # not tried, nor waited for, again
            chroma_client(settings.persist_dir, settings.chroma_url)


@pytest.fixture
def own_server(tmp_path) -> Iterator[tuple[subprocess.Popen, Library]]:
    """A Chroma server of the test's own, BOOK_A indexed on it, and a library already using it."""
    port, server = chroma_server(tmp_path / "server")
    with server as process:
        settings = make_settings(corpus_with(tmp_path / "corpus", ("渡口.txt", BOOK_A)), tmp_path / "index",
                                 chroma_url=f"http://127.0.0.1:{port}")
        build_index(settings)
        library = Library(settings)
        assert not retrieve_all(library, "灯笼", 1).notes
        yield process, library


def test_a_server_that_dies_after_connecting_leaves_keyword_search(own_server):
    process, library = own_server
    process.kill()
    process.wait()
    result = retrieve_all(library, "灯笼是什么颜色", 1)
    assert "杏黄色" in result.passages[0].text and "the Chroma server failed" in " ".join(result.notes)


def test_a_server_that_hangs_after_connecting_costs_one_bounded_wait(own_server, short_server_timeout):
    process, library = own_server
    process.send_signal(signal.SIGSTOP)  # the server hangs: connections open, nothing answers
    try:
        started = time.perf_counter()
        result = retrieve_all(library, "灯笼是什么颜色", 1)
        # the server never answers: only its configured timeout ends the wait (3x: a busy machine)
        assert time.perf_counter() - started < 3 * short_server_timeout
        assert "杏黄色" in result.passages[0].text and "did not answer" in " ".join(result.notes)
        result = retrieve_all(library, "青鸾号", 1)  # the next question does not try, nor wait for, the server again
        assert "recently unreachable" in " ".join(result.notes) and "keyword search only" in " ".join(result.notes)
    finally:
        process.send_signal(signal.SIGCONT)
