"""Read a novel file: decode its bytes, normalise the text, find its chapters, split it into cited chunks.

Offsets (``start``/``end``) always index the *normalised* text (line ends as ``\\n``), which the index
keeps beside the chunks, so ``text[start:end] == chunk.text``.
"""

from __future__ import annotations

import hashlib
import io
import os
import posixpath
import re
import stat
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

import ebooklib
from charset_normalizer import from_bytes
from ebooklib import epub
from langchain_text_splitters import RecursiveCharacterTextSplitter

from novelchat.config import MIB
from novelchat.errors import NovelChatError

NOVEL_SUFFIXES = (".txt", ".md", ".epub")
EPUB_UNPACK_FACTOR = 4  # an EPUB may unpack to this many times the file size limit in all (each member: the limit)

# Chinese-aware split points, coarsest first; each stays at the end of the piece it closes.
CHINESE_SEPARATORS = ["\n\n", "\n", "。”", "！”", "？”", "。", "！", "？", "；", "…", "”", "，", ". ", " ", ""]

_NUMERAL = r"[0-9０-９零〇一二三四五六七八九十百千万两壹贰叁肆伍陆柒捌玖拾佰仟]+"
_ROMAN = r"[IVXLCDM]+"
CHAPTER_HEADING = re.compile(
    rf"^[ \t]*(?:"
    rf"(?P<zh>第{_NUMERAL}[章回节卷集部篇])(?:[ \t:：·.、]+(?P<zh_title>[^\n]{{0,40}}))?"
    rf"|(?P<named>序章|序言|楔子|引子|尾声|后记|番外)(?P<named_title>[ \t:：·.、][^\n]{{0,40}}|[^\n]{{0,20}})"
    rf"|(?P<en>(?:Chapter|CHAPTER)[ \t]+(?:\d+|{_ROMAN}))\b(?P<en_title>[^\n]{{0,80}})"
    rf")[ \t]*$",
    re.MULTILINE,
)
_OTHER_CJK_ENCODINGS = {"big5", "big5hkscs", "cp950", "shift-jis", "cp932", "euc-jp", "utf-16-le", "utf-16-be"}
_SENTENCE_END = ("。", "！", "？", "，", "；", "!", "?", ",", ";")


class NovelError(NovelChatError, ValueError):
    """A file that cannot be read as a novel; the message is one friendly line."""


@dataclass(frozen=True)
class Chapter:
    """A chapter: its running number (0 = text before the first heading), title and span."""

    number: int
    title: str
    start: int
    end: int


@dataclass(frozen=True)
class Chunk:
    """A passage of a chapter, with everything needed to cite it."""

    index: int
    text: str
    chapter: int
    chapter_title: str
    start: int
    end: int


@dataclass
class Novel:
    """A decoded, normalised novel with its chapters."""

    path: Path
    title: str
    text: str
    encoding: str
    sha256: str
    chapters: list[Chapter] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


@contextmanager
def open_regular(path: Path) -> Iterator[BinaryIO]:
    """Open a regular file for reading; NovelError for anything else (never blocks on a FIFO)."""
    handle = os.fdopen(os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC), "rb")
    with handle:
        if not stat.S_ISREG(os.fstat(handle.fileno()).st_mode):
            raise NovelError("不是普通文件 / not a regular file")
        yield handle


def file_sha256(path: Path) -> str:
    """Hex sha256 of a regular file's bytes, read in blocks."""
    digest = hashlib.sha256()
    with open_regular(path) as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def text_sha256(text: str) -> str:
    """Hex sha256 of a decoded, normalised text: the same book in any encoding has the same one."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def read_limited(path: Path, max_bytes: int) -> bytes:
    """A regular file's bytes; NovelError if it holds more than ``max_bytes`` (never more is read)."""
    with open_regular(path) as handle:
        size = os.fstat(handle.fileno()).st_size
        data = handle.read(min(size, max_bytes) + 1)
    if len(data) > max_bytes:
        raise NovelError(
            f"文件过大（{max(size, len(data)) / MIB:.1f} MB > {max_bytes / MIB:.3g} MB 上限）/ file too large; "
            "raise NOVELCHAT_MAX_FILE_MB to allow it"
        )
    return data


def decode_bytes(data: bytes) -> tuple[str, str, list[str]]:
    """Decode a novel's bytes: returns (text, encoding, warnings) or raises NovelError.

    BOMs first (UTF-8/16/32), then strict UTF-8, then charset-normalizer's guess; GBK and GB2312
    are decoded as GB18030, their superset.
    """
    if not data.strip():
        raise NovelError("文件是空的 / the file is empty")
    for bom, encoding in (
        (b"\xef\xbb\xbf", "utf-8-sig"),
        (b"\xff\xfe\x00\x00", "utf-32"),
        (b"\x00\x00\xfe\xff", "utf-32"),
        (b"\xff\xfe", "utf-16"),
        (b"\xfe\xff", "utf-16"),
    ):
        if data.startswith(bom):
            return _strict_decode(data, encoding), encoding, []
    try:
        return data.decode("utf-8"), "utf-8", []
    except UnicodeDecodeError as error:
        utf8_error = error
    if b"\x00" in data[:8192]:
        raise NovelError("这看起来是二进制文件，不是文本 / this looks like a binary file, not text")
    sample = data[: 1 << 18]
    if len(sample) < len(data) and b"\n" in sample:
        sample = sample[: sample.rindex(b"\n")]  # never cut a multi-byte character in two
    guess = from_bytes(sample).best()
    guessed = guess.encoding.lower().replace("_", "-") if guess else ""
    if guessed in _OTHER_CJK_ENCODINGS:
        return _strict_decode(data, guessed), guessed, []
    text = _looks_chinese(data, "gb18030")  # GBK/GB2312 files decode as their superset GB18030
    if text is not None:
        return text, "gb18030", []
    if guessed in {"euc-kr", "cp949"}:
        return _strict_decode(data, guessed), guessed, []
    # A single-byte guess (cp1252, latin-1…) for a file that is almost UTF-8 is a corrupted UTF-8 file.
    return _mostly_utf8(data, utf8_error)


def _looks_chinese(data: bytes, encoding: str) -> str | None:
    """The text if ``data`` decodes strictly and its non-ASCII characters are mostly CJK, else None."""
    try:
        text = data.decode(encoding)
    except UnicodeDecodeError:
        return None
    wide = [ch for ch in text if ord(ch) > 127]
    cjk = sum("\u4e00" <= ch <= "\u9fff" or "\u3000" <= ch <= "\u303f" or "\uff00" <= ch <= "\uffef" for ch in wide)
    return text if wide and cjk >= 0.8 * len(wide) else None


def _strict_decode(data: bytes, encoding: str) -> str:
    try:
        return data.decode(encoding)
    except UnicodeDecodeError as error:
        raise NovelError(
            f"按 {encoding} 解码失败（第 {error.start} 字节）/ cannot decode as {encoding} at byte {error.start}"
        ) from None


def _mostly_utf8(data: bytes, error: UnicodeDecodeError) -> tuple[str, str, list[str]]:
    """Accept UTF-8 with a few bad bytes (replaced, with a warning); refuse anything worse."""
    text = data.decode("utf-8", errors="replace")
    bad = text.count("\ufffd")
    if bad and bad <= max(3, len(text) // 1000) and any(ord(ch) > 127 for ch in text[:4096]):
        return text, "utf-8", [f"{bad} 处字节无法解码，已替换为 � / {bad} undecodable bytes replaced"]
    raise NovelError(
        f"无法识别文件编码（第 {error.start} 字节起无法解码），请另存为 UTF-8 / "
        f"cannot detect the encoding (undecodable bytes from byte {error.start}); save it as UTF-8"
    )


def normalise_text(text: str) -> str:
    """Line ends to ``\\n``; full-width and no-break spaces to plain spaces; stray BOMs removed."""
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\ufeff", "")
    return text.translate({0x3000: " ", 0xA0: " "})


class _CappedEpubReader(epub.EpubReader):
    """ebooklib's reader, reading each member through a budget: ``max_bytes`` per member, ``EPUB_UNPACK_FACTOR``
    times that in all (a member read twice counts twice), whatever the zip's headers say."""

    def __init__(self, data: bytes, max_bytes: int) -> None:
        super().__init__(io.BytesIO(data), {"ignore_ncx": True})
        self.max_bytes, self.left = max_bytes, max_bytes * EPUB_UNPACK_FACTOR

    def read_file(self, name: str) -> bytes:
        limit = min(self.max_bytes, self.left)
        with self.zf.open(posixpath.normpath(name)) as handle:
            content = handle.read(limit + 1)
        if len(content) > limit:
            raise NovelError(_unpacked_too_large(self.max_bytes))
        self.left -= len(content)
        return content


def _unpacked_too_large(max_bytes: int) -> str:
    total = max_bytes * EPUB_UNPACK_FACTOR / MIB
    return (f"EPUB 解压后过大（单个文件 >{max_bytes / MIB:.3g} MB 或合计 >{total:.3g} MB），已跳过 / the EPUB unpacks "
            f"to more than {max_bytes / MIB:.3g} MB per member or {total:.3g} MB in all (a zip bomb?); skipped")


def _check_declared_sizes(data: bytes, max_bytes: int) -> None:
    """Refuse an EPUB whose zip directory declares a member over ``max_bytes`` or too much in all (nothing unpacked)."""
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        sizes = [member.file_size for member in archive.infolist()]
    if max(sizes, default=0) > max_bytes or sum(sizes) > max_bytes * EPUB_UNPACK_FACTOR:
        raise NovelError(_unpacked_too_large(max_bytes))


def _epub_text(data: bytes, max_bytes: int) -> str:
    """The text of an EPUB's documents in reading order, unpacking no more than the caps allow."""
    _check_declared_sizes(data, max_bytes)
    reader = _CappedEpubReader(data, max_bytes)
    book = reader.load()
    reader.process()
    parts = []
    for item in book.get_items_of_type(ebooklib.ITEM_DOCUMENT):
        html = item.get_content().decode("utf-8", errors="replace")
        html = re.sub(r"<(script|style)[^>]*>.*?</\1>", "", html, flags=re.S)
        html = re.sub(r"</(p|div|h\d|li|br)>|<br\s*/?>", "\n", html)
        parts.append(re.sub(r"<[^>]+>", "", html))
    return "\n\n".join(parts)


def read_novel(path: Path, max_bytes: int) -> Novel:
    """Read, decode and normalise a novel file and find its chapters; raises NovelError for bad input."""
    data = read_limited(path, max_bytes)
    if path.suffix.lower() == ".epub":
        try:
            text, encoding, warnings = _epub_text(data, max_bytes), "epub", []
        except NovelError:
            raise
        except Exception as error:  # ebooklib and zipfile raise many kinds for broken archives
            raise NovelError(f"无法读取 EPUB / cannot read the EPUB: {error}") from None
    else:
        text, encoding, warnings = decode_bytes(data)
    text = normalise_text(text)
    if not text.strip():
        raise NovelError("文件里没有文字 / the file holds no text")
    return Novel(path, path.stem, text, encoding, hashlib.sha256(data).hexdigest(), detect_chapters(text), warnings)


def detect_chapters(text: str) -> list[Chapter]:
    """Find chapter headings; numbered headings (第X章/回/节, Chapter N) count 1, 2, 3…

    Volume (卷/部/集/篇) and named headings (序章, 楔子, 尾声, 番外…) keep the current number.
    Headings with no body (a table of contents) are ignored. No headings → one chapter.
    """
    headings = []
    for match in CHAPTER_HEADING.finditer(text):
        line = match.group(0).strip()
        if line.endswith(_SENTENCE_END) or len(line) > 60:
            continue
        counts = bool(match.group("en")) or bool(match.group("zh") and match.group("zh")[-1] in "章回节")
        headings.append((match.start(), match.end(), line, counts))
    starts = [start for start, *_ in headings] + [len(text)]
    kept = [(start, line, counts) for (start, end, line, counts), next_start in zip(headings, starts[1:], strict=True)
            if text[end:next_start].strip()]
    if not kept:
        return [Chapter(1, "全文", 0, len(text))]
    chapters = []
    if text[: kept[0][0]].strip():
        chapters.append(Chapter(0, "正文前 / front matter", 0, kept[0][0]))
    number = 0
    bounds = [start for start, _, _ in kept] + [len(text)]
    for (start, title, counts), end in zip(kept, bounds[1:], strict=True):
        number += counts
        chapters.append(Chapter(number, re.sub(r"\s+", " ", title), start, end))
    return chapters


def make_splitter(chunk_size: int, chunk_overlap: int) -> RecursiveCharacterTextSplitter:
    """LangChain's recursive splitter with Chinese sentence punctuation as split points."""
    return RecursiveCharacterTextSplitter(
        chunk_size=chunk_size,
        chunk_overlap=min(chunk_overlap, chunk_size // 2),
        separators=CHINESE_SEPARATORS,
        keep_separator="end",
    )


def split_novel(novel: Novel, chunk_size: int, chunk_overlap: int) -> list[Chunk]:
    """Split each chapter on its own (never across a boundary); chunks carry chapter and offsets."""
    splitter = make_splitter(chunk_size, chunk_overlap)
    chunks: list[Chunk] = []
    for chapter in novel.chapters:
        body = novel.text[chapter.start: chapter.end]
        search_from = 0
        for piece in splitter.split_text(body):
            position = body.find(piece, search_from)
            if position < 0:
                position = body.find(piece)
            start = chapter.start + position
            chunks.append(Chunk(len(chunks), piece, chapter.number, chapter.title, start, start + len(piece)))
            search_from = position + 1
    return chunks
