"""Time the chat pipeline adds before the first token (retrieval + prompt build), model excluded.

The model is a fake that answers instantly, so what is measured is NovelChat's own work between the
question and the model's first token: hybrid retrieval (BM25 + query embedding + Chroma), numbering the
passages, the prompt, LangChain's streaming plumbing. Baseline in the same run: the original projects'
shape — dense-only Chroma similarity search (top 5, same embedder) + a prompt — on the same index.
Target: p50/p95 < 150 ms for QA and role-play.

  python bench/chat_latency.py [--persist DIR] [--rounds 3]
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import time
from pathlib import Path

import _common as C  # noqa: F401  (sets the offline hub variables)
from langchain_chroma import Chroma
from langchain_core.language_models.fake_chat_models import FakeListChatModel
from langchain_core.output_parsers import StrOutputParser

from novelchat.answering.qa import answer_question, format_passages, qa_prompt
from novelchat.index.build import build_index
from novelchat.index.store import chroma_client
from novelchat.retrieval.library import Library
from novelchat.retrieval.scope import Scope
from novelchat.roleplay.cards import load_personas
from novelchat.roleplay.chains import roleplay_reply

QA = C.REPO / "tests" / "data" / "novella_qa.jsonl"


def first_token_ms(make_stream) -> float:
    started = time.perf_counter()
    next(iter(make_stream()))
    return (time.perf_counter() - started) * 1000


def report(name: str, samples: list[float]) -> None:
    ordered = sorted(samples)
    p95 = ordered[max(0, int(len(ordered) * 0.95) - 1)]
    print(f"  {name:<42} p50 {statistics.median(ordered):6.1f} ms   p95 {p95:6.1f} ms   (n={len(ordered)})")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--persist", type=Path, help="reuse an index of corpus/ (default: build one in a temp dir)")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    questions = [json.loads(line)["question"] for line in QA.read_text(encoding="utf-8").splitlines()]
    with C.workdir("nc-chat-", args.persist) as work:
        corpus = work / "corpus"
        if not corpus.exists():
            shutil.copytree(C.REPO / "corpus", corpus)
        settings = C.settings_for(corpus, work / "chroma")
        print("building/updating the novella index …", flush=True)
        build_index(settings)
        library = Library(settings)
        llm = FakeListChatModel(responses=["好的。"])
        persona = next(p for p in load_personas() if p.name == "林晓")
        (entry,) = library.books()
        embeddings = library.embeddings()
        client = chroma_client(settings.persist_dir, settings.chroma_url)
        store = Chroma(client=client, collection_name=entry.collection, embedding_function=embeddings)

        def original_style(question: str):
            docs = store.similarity_search(question, k=5)
            prompt = qa_prompt().partial(book=entry.title, limit="全书结尾", k=5, history=[])
            return (prompt | llm | StrOutputParser()).stream(
                {"question": question, "passages": "\n\n".join(d.page_content for d in docs)})

        everything = library.scope_of_all()
        halfway = Scope.of(dict.fromkeys(everything.titles, 4))
        library.retrieve("预热", everything, 5)  # load the index and the embedder once, as the app does at start
        qa, roleplay, limited, baseline = [], [], [], []
        for _ in range(args.rounds):
            for question in questions:
                qa.append(first_token_ms(lambda q=question: answer_question(q, library, llm, everything).stream))
                limited.append(first_token_ms(
                    lambda q=question: answer_question(q, library, llm, halfway).stream))
                roleplay.append(first_token_ms(
                    lambda q=question: roleplay_reply(q, persona, library, llm, everything).stream))
                baseline.append(first_token_ms(lambda q=question: original_style(q)))
        passages = library.retrieve(questions[0], everything, 5).passages
        print(f"\nprompt passages: {len(passages)} ({len(format_passages(passages))} chars)")
        print("time before the first token (model excluded), this machine:")
        report("NovelChat QA (hybrid, k=5)", qa)
        report("NovelChat QA with spoiler limit (≤ ch. 4)", limited)
        report("NovelChat role-play (lines + persona)", roleplay)
        report("baseline: dense-only similarity_search + prompt", baseline)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
