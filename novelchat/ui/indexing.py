"""The library panel: add a book (upload or rescan corpus/) and watch the background build index it."""

from __future__ import annotations

from dataclasses import dataclass

import streamlit as st

from novelchat.books.uploads import accept_upload
from novelchat.config import Settings
from novelchat.index.background import BackgroundBuild, BuildStatus
from novelchat.retrieval.library import Library
from novelchat.ui.state import indexer

POLL_S = 3.0  # how often an open page shows the build's progress while one runs (no timer otherwise)


@dataclass(frozen=True)
class Drawn:
    """What a page run drew: its number in the session, the builds finished by then, and the books it listed."""

    run: int
    builds: int
    titles: tuple[str, ...]


def library_panel(settings: Settings, library: Library, titles: list[str], t: dict) -> None:
    """Upload a novel or rescan corpus/; indexing runs in the background and shows its progress."""
    job = indexer(settings)
    state = st.session_state
    # No ``type=``: Streamlit checks it before the page script runs, so a file the browser should not have sent (a
    # .py renamed on the way) became a traceback in place of the page; accept_upload refuses it in one line.
    upload = st.file_uploader(t["upload"], key="upload")
    if upload is not None and state.get("uploaded") != upload.file_id:
        state["uploaded"] = upload.file_id
        state["upload_result"] = accept_upload(upload.name, upload.getvalue(), settings.corpus_dir,
                                               settings.max_file_mb)
        if state["upload_result"].accepted:
            job.start()
    if result := state.get("upload_result"):
        (st.success if result.accepted else st.error)(result.message)
    if st.button(t["rescan"], width="stretch") and not job.start():
        st.info(t["busy"])
    status = job.snapshot()
    drawn = Drawn(state["page_runs"], status.finished, tuple(titles))
    progress = st.fragment(indexing_progress, run_every=POLL_S if status.running else None)
    progress(job, library, drawn, t)


def indexing_progress(job: BackgroundBuild, library: Library, drawn: Drawn, t: dict) -> None:
    """A progress bar while the background build runs; warnings and errors once it ends.

    A fragment, on a timer only while a build runs (an idle page makes no reruns). On a timer tick, when a build
    has ended or a new book is listed (its keyword index is in; its vectors follow), it reruns the page once: that
    lists the new book and stops the timer. A tick runs only between page runs, never inside one, so it can never
    cut a question or a reply short; the same check inside a page run would, so there it is skipped.
    """
    tick = st.session_state.get("progress_drawn") == drawn.run  # a later call for the same page run: a tick
    st.session_state["progress_drawn"] = drawn.run
    status = job.snapshot()  # every field from the same moment
    if status.running:
        fraction = min(status.done / status.total, 1.0) if status.total else 0.0
        st.progress(fraction, text=f"{t['indexing']}: {progress_text(status, t)}")
    if tick and (status.finished != drawn.builds or tuple(b.title for b in library.books()) != drawn.titles):
        st.rerun()
    if not status.running and status.error:
        st.error(status.error)
    if not status.running and status.report and status.report.changed:
        st.success(f"{t['indexed']} ({status.report.seconds:.0f} s)")
        for warning in status.report.warnings:
            st.warning(warning)


def progress_text(status: BuildStatus, t: dict) -> str:
    """What the build is doing, in words: which book of how many it reads, or how far a book's vectors are."""
    if not status.book or not status.total:
        return t["preparing"]
    if status.stage == "lexical":
        return f"{t['lexical']} {t['books_read'].format(done=status.done, total=status.total)}《{status.book}》"
    return f"{t['dense']}《{status.book}》 {t['chunks'].format(done=status.done, total=status.total)}"
