"""A book uploaded in the page: checked before it joins the corpus, saved without ever replacing a book.

The upload is written to a staging folder inside the corpus and read as the build would read it (size, encoding,
EPUB limits, some text at all). A file that cannot be a book is refused with the reason and leaves nothing behind.
A good one is moved into the corpus under its own name, or, when a different book already has that name, under
the first free ``name (2).txt``; the very same file uploaded again is not saved twice.
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from novelchat.books.novel import NOVEL_SUFFIXES, NovelError, read_novel
from novelchat.config import max_file_bytes

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class UploadResult:
    """What became of an upload: the file it was saved as (None: not saved), and a line for the reader."""

    saved: Path | None
    message: str

    @property
    def accepted(self) -> bool:
        return self.saved is not None


def refused(name: str, reason: str) -> UploadResult:
    return UploadResult(None, f"《{name}》没有加入书库：{reason} / {name} was not added: {reason}")


def free_name(corpus: Path, name: str, data: bytes) -> tuple[str, bool]:
    """The name to save ``data`` as, and whether the same bytes are already there under that name's family:
    ``name`` itself when free, else ``stem (2).ext``, ``stem (3).ext``… — never a name another book holds."""
    stem, suffix = Path(name).stem, Path(name).suffix
    for number in range(1, 10_000):
        candidate = name if number == 1 else f"{stem} ({number}){suffix}"
        path = corpus / candidate
        if not path.exists() and not path.is_symlink():
            return candidate, False
        if path.is_file() and path.stat().st_size == len(data) and path.read_bytes() == data:
            return candidate, True
    raise OSError(f"too many books named {name}")


def accept_upload(name: str, data: bytes, corpus: Path, max_file_mb: float) -> UploadResult:
    """Check an uploaded book and save it into ``corpus`` (see the module's docstring); never raises for bad input."""
    name = Path(name).name.strip()
    if Path(name).suffix.lower() not in NOVEL_SUFFIXES:
        return refused(name, f"只收 {'/'.join(NOVEL_SUFFIXES)} 文件 / only {', '.join(NOVEL_SUFFIXES)} files")
    if not data:
        return refused(name, "文件是空的 / the file is empty")
    if len(data) > max_file_bytes(max_file_mb):
        return refused(name, f"超过 {max_file_mb:g} MB / larger than {max_file_mb:g} MB")
    try:
        corpus.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=".upload-", dir=corpus))
    except OSError as error:
        log.warning("cannot stage the upload %s in %s: %s", name, corpus, error)
        return refused(name, f"书库文件夹无法写入 / the corpus folder cannot be written ({error.strerror})")
    try:
        staged = staging / name
        staged.write_bytes(data)
        read_novel(staged, max_file_bytes(max_file_mb))
        target, present = free_name(corpus, name, data)
        if present:
            return UploadResult(corpus / target, f"《{target}》已在书库里 / {target} is already in the library")
        os.replace(staged, corpus / target)
    except NovelError as error:
        return refused(name, str(error))
    except OSError as error:  # disk full, read-only folder
        log.warning("cannot save the upload %s in %s: %s", name, corpus, error)
        return refused(name, f"无法保存 / cannot be saved ({error.strerror or error})")
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    if target != name:
        return UploadResult(corpus / target, f"书库里已有另一本 {name}，这本存为 {target} / a different book is "
                                             f"called {name}: this one is saved as {target}")
    return UploadResult(corpus / target, f"已加入书库：{target} / added to the library: {target}")
