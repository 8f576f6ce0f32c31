"""A small registry of named backends (chat models, embeddings, voices, answer readers): name → factory.

Each entry says whether it can run here (``available``) and, in one line, why or why not (``status``), so the
settings, the UI and the docs list the same choices from one table instead of if/elif chains."""

from __future__ import annotations

import importlib.util
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Generic, TypeVar

T = TypeVar("T")


@dataclass(frozen=True)
class Entry(Generic[T]):
    """One backend: how to make it, and a cheap check of whether it can run (no loading, no network)."""

    name: str
    factory: Callable[..., T]
    summary: str
    check: Callable[[], str | None] = lambda: None  # None when usable, else what is missing

    def available(self) -> bool:
        """Whether this backend can run here."""
        return self.check() is None

    def status(self) -> str:
        """One line: the summary, or what is missing."""
        missing = self.check()
        return self.summary if missing is None else f"{self.summary} — unavailable: {missing}"


def installed(*modules: str) -> Callable[[], str | None]:
    """A registry check: None when every module can be imported, else what to install (nothing is imported)."""
    def check() -> str | None:
        missing = [name for name in modules if importlib.util.find_spec(name) is None]
        return f"pip install {' '.join(missing)}" if missing else None

    return check


class Registry(Generic[T]):
    """Backends of one kind, by name, in the order they were registered (the order ``auto`` prefers)."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._entries: dict[str, Entry[T]] = {}

    def register(self, name: str, factory: Callable[..., T], summary: str,
                 check: Callable[[], str | None] | None = None) -> None:
        """Add a backend under ``name`` (a second registration of a name is a programming error)."""
        if name in self._entries:
            raise ValueError(f"{self.kind} {name!r} is registered twice")
        self._entries[name] = Entry(name, factory, summary, check or (lambda: None))

    def __contains__(self, name: object) -> bool:
        return name in self._entries

    def __iter__(self) -> Iterator[Entry[T]]:
        return iter(self._entries.values())

    def names(self) -> list[str]:
        """Every registered name, in order."""
        return list(self._entries)

    def get(self, name: str) -> Entry[T]:
        """The entry called ``name``; a ValueError naming the choices otherwise."""
        try:
            return self._entries[name]
        except KeyError:
            raise ValueError(f"unknown {self.kind} {name!r}; choose one of: {', '.join(self._entries)}") from None

    def create(self, name: str, *args, **kwargs) -> T:
        """Make the backend called ``name``."""
        return self.get(name).factory(*args, **kwargs)

    def available(self) -> list[str]:
        """The names that can run here, in order."""
        return [entry.name for entry in self if entry.available()]
