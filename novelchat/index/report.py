"""What a build tells its caller: progress as it goes, a report at the end, or one friendly error line."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from novelchat.errors import NovelChatError

ProgressFn = Callable[[str, str, int, int], None]
"""progress(stage, book title, done, total); stage is "lexical" or "dense"."""


class IndexBuildError(NovelChatError, RuntimeError):
    """The build cannot start or go on; the message is one friendly line. The index is untouched."""


@dataclass
class BookReport:
    """What a build did with one file."""

    file: str
    status: str
    chapters: int = 0
    chunks: int = 0


@dataclass
class BuildReport:
    """What a build did, for the summary table and the app."""

    books: list[BookReport] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    dense_pending: list[str] = field(default_factory=list)
    seconds: float = 0.0
    changed: bool = False
