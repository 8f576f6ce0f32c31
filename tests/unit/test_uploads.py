"""Issue #13: an upload never replaces a book, and one that cannot be a book says why and leaves nothing behind."""

from __future__ import annotations

import io
import zipfile

import pytest

from novelchat.books.uploads import accept_upload
from tests.hostile_files import file_permissions_enforced

BOOK = "第一章 雪夜\n\n那年冬天，驿站的老马叫作踏雪。\n".encode("gb18030")
OTHER = "第一章 天明\n\n雪停了，掌柜开了门。\n".encode()


def listing(corpus):
    return sorted(p.name for p in corpus.iterdir())


def test_a_book_is_saved_under_its_name(tmp_path):
    result = accept_upload("雪夜.txt", BOOK, tmp_path, 64)
    assert result.accepted and result.saved == tmp_path / "雪夜.txt" and "雪夜.txt" in result.message
    assert (tmp_path / "雪夜.txt").read_bytes() == BOOK and listing(tmp_path) == ["雪夜.txt"]


def test_a_different_book_with_the_same_name_never_replaces_it(tmp_path):
    accept_upload("雪夜.txt", BOOK, tmp_path, 64)
    second = accept_upload("雪夜.txt", OTHER, tmp_path, 64)
    third = accept_upload("雪夜.txt", OTHER + b"\n", tmp_path, 64)
    assert (tmp_path / "雪夜.txt").read_bytes() == BOOK  # the first book is untouched
    assert second.saved == tmp_path / "雪夜 (2).txt" and "雪夜 (2).txt" in second.message
    assert third.saved == tmp_path / "雪夜 (3).txt"
    assert listing(tmp_path) == ["雪夜 (2).txt", "雪夜 (3).txt", "雪夜.txt"]


def test_the_same_file_uploaded_again_is_not_saved_twice(tmp_path):
    accept_upload("雪夜.txt", BOOK, tmp_path, 64)
    again = accept_upload("雪夜.txt", BOOK, tmp_path, 64)
    assert again.saved == tmp_path / "雪夜.txt" and "already" in again.message
    assert listing(tmp_path) == ["雪夜.txt"]


def corrupt_epub() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("mimetype", "application/epub+zip")
        archive.writestr("content.opf", "<not xml")
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("name", "data", "max_mb", "reason"),
    [
        ("空.txt", b"", 64, "empty"),
        ("图.txt", bytes(range(256)) * 64, 64, "雪"),  # any NovelError's own reason (binary)
        ("坏.epub", corrupt_epub(), 64, "EPUB"),
        ("大.txt", BOOK * 1000, 0.01, "larger than 0.01 MB"),
        ("evil.py", b"import os\n", 64, "only .txt"),
        ("空白.txt", "\n\u3000\n  \n".encode(), 64, "no text"),
    ],
    ids=["empty", "binary", "corrupt-epub", "too-large", "not-a-book-type", "blank"],
)
def test_a_file_that_cannot_be_a_book_is_refused_with_the_reason_and_leaves_nothing(tmp_path, name, data, max_mb,
                                                                                      reason):
    result = accept_upload(name, data, tmp_path, max_mb)
    assert not result.accepted and "was not added" in result.message
    if reason != "雪":
        assert reason in result.message, result.message
    assert listing(tmp_path) == []  # no file, no staging folder


def test_a_read_only_corpus_is_one_line(tmp_path):
    tmp_path.chmod(0o555)
    try:
        with file_permissions_enforced():
            result = accept_upload("雪夜.txt", BOOK, tmp_path, 64)
    finally:
        tmp_path.chmod(0o755)
    assert not result.accepted and "cannot be written" in result.message
