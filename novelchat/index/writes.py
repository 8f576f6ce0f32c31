"""Writing into the index folder safely: one writer at a time, an OSError becomes one friendly ``IndexWriteError``
line, and a staging folder that was not renamed into place is removed on the way out."""

from __future__ import annotations

import errno
import fcntl
import logging
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from novelchat.errors import NovelChatError

log = logging.getLogger(__name__)


class IndexWriteError(NovelChatError, RuntimeError):
    """The index folder cannot be written (disk full, read-only, no permission); the message is one friendly line."""


def _write_error_message(folder: Path, error: OSError) -> str:
    """One line saying why the index in ``folder`` could not be written, and what to do."""
    if error.errno in (errno.ENOSPC, errno.EDQUOT):
        return (f"磁盘已满，索引未更新；腾出空间后再运行 / the disk is full: the index in {folder} was not updated; "
                "free some space and run again")
    if error.errno in (errno.EROFS, errno.EACCES, errno.EPERM):
        return (f"索引目录不可写：{folder} / the index folder {folder} is read-only or not writable; "
                "choose another with --persist or NOVELCHAT_PERSIST_DIR")
    return f"写索引失败 / cannot write the index in {folder}: {error.strerror or error}"


@contextmanager
def writing(folder: Path) -> Iterator[None]:
    """Turn an OSError while writing the index in ``folder`` into an IndexWriteError."""
    try:
        yield
    except OSError as error:
        raise IndexWriteError(_write_error_message(folder, error)) from error


@contextmanager
def staging(parent: Path) -> Iterator[Path]:
    """A fresh staging folder in ``parent``: removed on the way out unless the caller has renamed it into place."""
    folder = Path(tempfile.mkdtemp(dir=parent, prefix=".staging-"))
    try:
        yield folder
    finally:
        if folder.exists():
            remove_path(folder)


def remove_path(path: Path) -> None:
    """Delete a folder or file of the index; a failure is logged (the next build tries again)."""
    try:
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)
        else:
            path.unlink()
    except OSError as error:
        log.warning("could not remove %s: %s", path, error)


@contextmanager
def writer_lock(persist_dir: Path) -> Iterator[None]:
    """Hold the index's writer lock (another build waits; released even on crash)."""
    with writing(persist_dir):
        persist_dir.mkdir(parents=True, exist_ok=True)
        handle = (persist_dir / ".lock").open("w")
    with handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
