"""Helpers for tests with hostile files: FIFOs that would block a reader, files that cannot be read even by root."""

from __future__ import annotations

import ctypes
import os
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

_CAP_VERSION_3 = 0x20080522
_CAP_DAC_OVERRIDE, _CAP_DAC_READ_SEARCH = 1, 2


class _CapHeader(ctypes.Structure):
    _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]


class _CapData(ctypes.Structure):
    _fields_ = [("effective", ctypes.c_uint32), ("permitted", ctypes.c_uint32), ("inheritable", ctypes.c_uint32)]


def without_blocking(fifo: Path, function: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """``function(*args, **kwargs)``, failing (not hanging) if it blocks on ``fifo``; a blocked reader is released."""
    result: list[Any] = []
    worker = threading.Thread(target=lambda: result.append(function(*args, **kwargs)), daemon=True)
    worker.start()
    worker.join(30)
    if worker.is_alive():
        os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))  # the blocked open gets EOF and returns
        worker.join(30)
        pytest.fail(f"blocked reading the FIFO {fifo.name}")
    return result[0]


@contextmanager
def file_permissions_enforced() -> Iterator[None]:
    """File permissions apply even to root in this thread: its override capabilities (CAP_DAC_OVERRIDE,
    CAP_DAC_READ_SEARCH) are dropped from the effective set meanwhile, so a ``chmod 000`` file really fails to open.
    Not root: permissions apply anyway."""
    if os.geteuid() != 0:
        yield
        return
    libc = ctypes.CDLL(None, use_errno=True)
    header, data = _CapHeader(_CAP_VERSION_3, 0), (_CapData * 2)()
    if libc.capget(ctypes.byref(header), data) != 0:
        pytest.skip(f"capget failed: errno {ctypes.get_errno()}")
    saved = data[0].effective
    data[0].effective &= ~((1 << _CAP_DAC_OVERRIDE) | (1 << _CAP_DAC_READ_SEARCH))
    if libc.capset(ctypes.byref(header), data) != 0:
        pytest.skip(f"capset failed: errno {ctypes.get_errno()}")
    try:
        yield
    finally:
        data[0].effective = saved
        libc.capset(ctypes.byref(header), data)
