"""Reading novels: encodings, chapter detection, chunking with offsets, bad input."""

from __future__ import annotations

import json
import os
import re
import struct
import zipfile

import pytest

from novelchat.books.novel import (
    NovelError,
    decode_bytes,
    detect_chapters,
    read_novel,
    split_novel,
)
from tests.conftest import HANG_S, NOVELLA, run_cli, shared_file

BIG = 1 << 30
PRIVATE_USE = re.compile("[\ue000-\uf8ff]")


def _xiyouji_first_three() -> str:
    reference = read_novel(shared_file("zh/西游记.txt"), BIG)
    return reference.text[: reference.chapters[4].start]


@pytest.mark.parametrize("name", ["西游记_ch1-3.utf-8-sig.txt", "西游记_ch1-3.utf-16.txt", "西游记_ch1-3.gbk.txt"])
def test_every_encoding_decodes_to_the_same_text(name):
    novel = read_novel(shared_file(f"encodings/{name}"), BIG)
    expected = _xiyouji_first_three()
    if "gbk" in name:  # GBK cannot hold the 4 private-use glyphs: the file has "?" there
        expected = PRIVATE_USE.sub("?", expected)
        assert novel.encoding == "gb18030"
    assert novel.text == expected
    assert [c.number for c in novel.chapters] == [0, 1, 2, 3]


def test_full_gbk_and_gb18030_books_decode():
    original = read_novel(shared_file("zh/西游记.txt"), BIG).text
    assert read_novel(shared_file("encodings/西游记.gb18030.txt"), BIG).text == original
    assert read_novel(shared_file("encodings/西游记.gbk.txt"), BIG).text == PRIVATE_USE.sub("?", original)


def test_all_100_chapters_of_xiyouji():
    novel = read_novel(shared_file("zh/西游记.txt"), BIG)
    numbered = [c for c in novel.chapters if c.number > 0]
    assert [c.number for c in numbered] == list(range(1, 101))
    assert numbered[0].title.startswith("第一回")
    assert numbered[-1].title.startswith("第一百回")


def test_all_chapters_of_the_sample_novella():
    novel = read_novel(NOVELLA, BIG)
    headings = re.findall(r"^第[一二三四五六七八九十]+章.*$", novel.text, re.M)
    assert len(headings) >= 5
    assert [c.title for c in novel.chapters] == headings
    assert [c.number for c in novel.chapters] == list(range(1, len(headings) + 1))
    assert len(novel.text) >= 15000


def test_heading_styles():
    text = (
        "书名页\n\n目录\n第一章 起\n第二章 承\n\n"  # a table of contents: headings without bodies
        "楔子\n很久以前。\n\n第一章 起\n正文一。\n\n第12章：承\n正文二。\n\n第一卷 下部\n卷首语。\n\n"
        "第十三章 转\n他说第十四章写完了。\n\n尾声\n结束。\n\n番外 后日谈\n番外正文。\n"
    )
    chapters = detect_chapters(text)
    assert [(c.number, c.title) for c in chapters] == [
        (0, "正文前 / front matter"), (0, "楔子"), (1, "第一章 起"), (2, "第12章：承"), (2, "第一卷 下部"),
        (3, "第十三章 转"), (3, "尾声"), (3, "番外 后日谈"),
    ]
    english = detect_chapters("Title\n\nCHAPTER I\nIt is a truth.\n\nChapter 2: The Ball\nMr. Bingley.\n")
    assert [(c.number, c.title) for c in english][1:] == [(1, "CHAPTER I"), (2, "Chapter 2: The Ball")]
    assert [(c.number, c.title) for c in detect_chapters("没有标题的短篇。\n第二段。")] == [(1, "全文")]


def test_chunks_slice_back_and_never_cross_a_chapter():
    novel = read_novel(NOVELLA, BIG)
    chunks = split_novel(novel, 600, 100)
    assert len(chunks) > 20
    for chunk in chunks:
        assert novel.text[chunk.start: chunk.end] == chunk.text
        assert len(chunk.text) <= 600
        chapter = next(c for c in novel.chapters if c.title == chunk.chapter_title)
        assert chapter.start <= chunk.start and chunk.end <= chapter.end
    first_of_each = {c.chapter_title: c.text for c in reversed(chunks)}
    assert all(text.startswith(title) for title, text in first_of_each.items())


def test_chunks_end_at_chinese_sentence_ends():
    chunks = split_novel(read_novel(NOVELLA, BIG), 200, 40)
    endings = [c.text[-1] for c in chunks]
    assert sum(e in "。！？”…；\n" for e in endings) / len(endings) > 0.9


def test_normalised_line_ends_and_spaces(tmp_path):
    path = tmp_path / "crlf.txt"
    path.write_bytes("第一章　开始\r\n\u3000\u3000他来了。\r\n".encode("gb18030"))
    novel = read_novel(path, BIG)
    assert novel.text == "第一章 开始\n  他来了。\n"
    assert novel.chapters[0].title == "第一章 开始"


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "empty"),
        (b"  \n\r\n ", "empty"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)) * 4, "binary"),
        (os.urandom(0) + bytes([0x81, 0x20, 0xFF, 0xFE, 0x80, 0x9F]) * 300, "encoding"),
    ],
)
def test_bad_bytes_are_refused_with_one_line(data, message):
    with pytest.raises(NovelError) as error:
        decode_bytes(data)
    assert message in str(error.value) and "\n" not in str(error.value)


def test_a_few_bad_bytes_in_utf8_are_replaced_with_a_warning():
    data = ("第一章 开始\n" + "他走进了青石镇。" * 200).encode("utf-8")
    text, encoding, warnings = decode_bytes(data[:500] + b"\xff" + data[500:])
    assert encoding == "utf-8" and text.count("\ufffd") == 1 and warnings


def test_size_limit(tmp_path):
    path = tmp_path / "big.txt"
    path.write_text("字" * 2000, encoding="utf-8")
    with pytest.raises(NovelError, match="too large"):
        read_novel(path, 1000)


def test_epub_books_are_read_in_order(tmp_path):
    from ebooklib import epub

    book = epub.EpubBook()
    book.set_title("灯")
    book.set_language("zh")
    chapters = []
    for number, (title, body) in enumerate([("第一章 起", "老何摆渡三十年。"), ("第二章 落", "灯笼是杏黄色的。")], 1):
        page = epub.EpubHtml(title=title, file_name=f"c{number}.xhtml", lang="zh")
        page.content = f"<html><body><h1>{title}</h1><p>{body}</p></body></html>"
        book.add_item(page)
        chapters.append(page)
    book.spine = chapters
    book.add_item(epub.EpubNcx())
    book.add_item(epub.EpubNav())
    path = tmp_path / "灯.epub"
    epub.write_epub(str(path), book)
    novel = read_novel(path, BIG)
    assert novel.encoding == "epub" and [c.title for c in novel.chapters] == ["第一章 起", "第二章 落"]
    assert "杏黄色" in novel.text[novel.chapters[1].start: novel.chapters[1].end]


CONTAINER = """<?xml version="1.0"?>
<container version="1.0" xmlns="urn:oasis:names:tc:opendocument:xmlns:container">
<rootfiles><rootfile full-path="OEBPS/content.opf" media-type="application/oebps-package+xml"/></rootfiles>
</container>"""


def package(items: list[tuple[str, str]]) -> str:
    """An OPF package naming (id, href) documents, in that reading order."""
    manifest = "".join(f'<item id="{i}" href="{href}" media-type="application/xhtml+xml"/>' for i, href in items)
    spine = "".join(f'<itemref idref="{i}"/>' for i, _ in items)
    return (f'<?xml version="1.0"?><package xmlns="http://www.idpf.org/2007/opf" version="3.0" unique-identifier="id">'
            f'<metadata xmlns:dc="http://purl.org/dc/elements/1.1/"><dc:identifier id="id">bomb</dc:identifier>'
            f'<dc:title>炸弹</dc:title><dc:language>zh</dc:language></metadata>'
            f'<manifest>{manifest}</manifest><spine>{spine}</spine></package>')


def write_epub(path, items: list[tuple[str, str]], pages: dict[str, bytes], zeros: tuple[str, int] | None = None):
    """A minimal EPUB; ``zeros`` = (member, size) adds a member of that many zero bytes, streamed (low memory)."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("mimetype", "application/epub+zip", zipfile.ZIP_STORED)
        archive.writestr("META-INF/container.xml", CONTAINER)
        archive.writestr("OEBPS/content.opf", package(items))
        for name, content in pages.items():
            archive.writestr(f"OEBPS/{name}", content)
        if zeros:
            block = bytes(1 << 20)
            with archive.open(f"OEBPS/{zeros[0]}", "w") as handle:
                for _ in range(zeros[1] >> 20):
                    handle.write(block)


PAGE = "<html><body><h1>第一章 起</h1><p>老何摆渡三十年。</p></body></html>".encode()


@pytest.fixture(scope="module")
def zip_bomb(tmp_path_factory):
    """A ~300 KB EPUB whose second document unpacks to 300 MB of zeros (its declared size, honestly)."""
    path = tmp_path_factory.mktemp("bomb") / "bomb.epub"
    write_epub(path, [("c1", "c1.xhtml"), ("c2", "bomb.xhtml")], {"c1.xhtml": PAGE}, zeros=("bomb.xhtml", 300 << 20))
    assert path.stat().st_size < 1 << 20
    return path


READ_IN_A_CHILD = """
import json, sys
from pathlib import Path
from novelchat.books.novel import NovelError, read_novel

def peak_kib():  # VmHWM: this process's own peak (ru_maxrss would keep the forking pytest's size across exec)
    return next(int(line.split()[1]) for line in open("/proc/self/status") if line.startswith("VmHWM"))

before = peak_kib()
try:
    read_novel(Path(sys.argv[1]), int(sys.argv[2]))
    refusal = None
except NovelError as error:
    refusal = str(error)
print(json.dumps({"refusal": refusal, "grew_kib": peak_kib() - before}))
"""


def refused_quickly(path, max_bytes: int, expected: str) -> None:
    """Read ``path`` in a fresh child process, so the memory bound measures that read alone (a full test run has
    long since raised this process's peak)."""
    result = run_cli("-c", READ_IN_A_CHILD, str(path), str(max_bytes), timeout=HANG_S)  # the timeout: a hang check
    assert result.returncode == 0, result.stderr
    read = json.loads(result.stdout)
    assert read["refusal"] and expected in read["refusal"] and "\n" not in read["refusal"], read
    assert read["grew_kib"] < 100_000, read  # never unpacked: < 100 MB more at its peak


def test_an_epub_bomb_is_refused_from_its_declared_sizes(zip_bomb):
    refused_quickly(zip_bomb, 64_000_000, "unpacks to more than")


def test_an_epub_bomb_with_lying_sizes_stops_at_the_cap(zip_bomb, tmp_path):
    """The central directory says 1 KB; the member really holds 300 MB of zeros: reading stops, never 300 MB."""
    data = bytearray(zip_bomb.read_bytes())
    entry = data.rindex(b"PK\x01\x02\x14")  # the last central directory entry: bomb.xhtml
    assert data[entry + 46: entry + 46 + 16] == b"OEBPS/bomb.xhtml"
    data[entry + 24: entry + 28] = struct.pack("<I", 1000)
    liar = tmp_path / "liar.epub"
    liar.write_bytes(bytes(data))
    refused_quickly(liar, 16_000_000, "EPUB")  # zipfile inflates up to the cap (~2x it at the peak), not 300 MB


def test_an_epub_reading_one_member_many_times_stops_at_the_total_cap(tmp_path):
    """Each member is small and declared honestly, but the package lists the same one 50 times."""
    path = tmp_path / "echo.epub"
    page = b"<html><body><p>" + "回声。".encode() * 30_000 + b"</p></body></html>"
    write_epub(path, [(f"c{n}", "echo.xhtml") for n in range(50)], {"echo.xhtml": page})
    refused_quickly(path, 1_000_000, "unpacks to more than")
