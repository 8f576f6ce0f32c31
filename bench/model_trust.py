"""A chat model's own "the book does not seem to say": how often it says so, and how often rightly, on the question
sets of bench/trust_data.py (the same BM25 passages as bench/answer_trust.py), with whatever chat model the settings
name (NOVELCHAT_LLM_MODEL / NOVELCHAT_LLM_BASE_URL, as the app reads them).

    NOVELCHAT_LLM_MODEL=smollm2 python bench/model_trust.py [--per-set 10] [--sets first-run|held-out|fit]
        [--only northanger sense] [-k 5]

For each set: answerable + not-in-book questions (the first ``--per-set`` of each kind), then the note's precision (of
the replies that decline — ``grounding.declines`` — the share on not-in-book questions) and recall (of the not-in-book
questions, the share declined), how often an answerable question is declined, and how often a reply that does not
decline holds a gold answer (繁简, whitespace and punctuation folded). Replies are greedy (temperature 0). Goal for the
note on held-out books: precision >= 0.8 when shown. Without a model configured it says so and exits.
"""

from __future__ import annotations

import argparse
import sys
import time

import _common as C  # noqa: F401  (sets the offline environment first)
import trust_data as T

from novelchat.answering.grounding import declines
from novelchat.answering.qa import answer_from
from novelchat.config import get_settings
from novelchat.models import load_chat_model
from novelchat.retrieval.evaluate import squash
from novelchat.retrieval.scope import Scope
from novelchat.text.query import Query

GOAL_NOTE = 0.8
ROLES = {"first-run": T.FIRST_RUN, "held-out": T.HELD, "fit": T.FIT}


def share(part: int, whole: int) -> str:
    return f"{part / whole:.3f}" if whole else "  -  "


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("-k", type=int, default=5)
    parser.add_argument("--per-set", type=int, default=10, help="questions of each kind per set (default 10)")
    parser.add_argument("--sets", choices=sorted(ROLES), default="first-run")
    parser.add_argument("--only", nargs="*", default=[], help="these sets alone (names as printed)")
    args = parser.parse_args()
    settings = get_settings().with_(llm_temperature=0.0, llm_max_new_tokens=96)
    llm = load_chat_model(settings)
    if llm is None:
        sys.exit("no chat model configured: set NOVELCHAT_LLM_MODEL (e.g. smollm2) or NOVELCHAT_LLM_BASE_URL")
    role = ROLES[args.sets]
    print(f"model {settings.llm_model or settings.llm_base_url}, k={args.k}, {role} sets, {args.per_set} + "
          f"{args.per_set} questions each; goal: the note right >= {GOAL_NOTE} when shown")
    totals = [0, 0, 0, 0, 0, 0]  # declined right, declined wrongly, not-in-book, answerable, answered, held
    chosen = [s for s in T.question_sets(first_run=role == T.FIRST_RUN) if s.role == role]
    for qset in (s for s in chosen if not args.only or s.name in args.only):
        found = qset.retrieved(args.k)
        asked = [*qset.answerable[: args.per_set], *((q, []) for q in qset.unanswerable[: args.per_set])]
        counts, started = [0, 0, 0, 0, 0, 0], time.perf_counter()
        for question, answers in asked:
            turn = answer_from(Query.parse(question), found[question], llm, Scope.whole([qset.book]))
            reply = "".join(turn.stream)
            said = declines(reply)
            counts[0] += said and not answers
            counts[1] += said and bool(answers)
            counts[2] += not answers
            counts[3] += bool(answers)
            counts[4] += bool(answers) and not said
            counts[5] += bool(answers) and not said and any(squash(a) in squash(reply) for a in answers)
        totals = [t + c for t, c in zip(totals, counts, strict=True)]
        print(report(qset.name, counts) + f"  ({time.perf_counter() - started:.0f} s)")
    print(report("all", totals))
    shown = totals[0] + totals[1]
    verdict = C.verdict(totals[0] / shown >= GOAL_NOTE) if shown else "never shown"
    print(f"  goal: note precision >= {GOAL_NOTE}: {verdict}")
    return 0


def report(title: str, c: list[int]) -> str:
    right, wrong, missing, answerable, answered, held = c
    return (f"  {title:<16} n={answerable:>3}+{missing:<3} note shown {right + wrong:>3} precision "
            f"{share(right, right + wrong)} recall {share(right, missing)} | answerable declined "
            f"{share(wrong, answerable)} | answers holding the answer {share(held, answered)}")


if __name__ == "__main__":
    sys.exit(main())
