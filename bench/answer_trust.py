"""Retrieval-only replies a reader can trust: how often a sentence shown as the answer holds it, and whether any
rule over the passages can say "the book does not seem to say" reliably. Books split into fitted and held out.

    python bench/answer_trust.py [--fit] [--first-run] [--reader heuristic|cross-encoder] [-k 5]

The question sets and their keyword-only (BM25) passages come from bench/trust_data.py (cached under
bench/out/trust/). For every set it prints: n (answerable + not-in-book questions), visible (share of the answerable
questions whose reply holds a gold answer anywhere in its text: the sentence shown as the answer or the passages as
cut), answer-first coverage (share of
all questions whose reply opens with a sentence presented as the answer: ``Lead.shown_as_answer``), answer-first
precision (share of those whose shown sentence(s) hold a gold answer, whitespace, punctuation and 繁/简 folded:
``evaluate.squash``; a not-in-book question never counts as held), and the note's precision (share of the notes shown
that were on a not-in-book question) and recall (share of not-in-book questions that got it). The baseline is the
old behaviour in the same run: the lead always shown as the answer unless the old rule (best sentence holding < 0.17
of the question) put the note instead. A reply without a model now never shows the note; ``separation`` is how well
the best sentence's share of the question tells a not-in-book question from an answerable one (ROC AUC: 0.5 is
chance), the signal such a rule would stand on. Goals on held-out books: answer-first precision >= 0.9; note
precision >= 0.8.

``--fit`` refits on the ``fit`` sets only and prints the figures to store in the code: the logistic coefficients of
``heuristic.CONFIDENCE`` (on ``heuristic.evidence``) and ``reader.ANSWER_FIRST`` (the lowest threshold above which
answer-first precision stays >= 0.9, each fit book judged by a fit on the others: leave one book out).
``--first-run`` adds the sets written last by helpers who never saw the code. ``--reader cross-encoder`` measures (and
with ``--fit`` calibrates: NOVELCHAT_READER_CALIBRATION) the reranker NOVELCHAT_READER_MODEL names instead.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass

import _common as C  # noqa: F401  (sets the offline environment first)
import numpy as np
import trust_data as T

from novelchat.answering.heuristic import lead
from novelchat.answering.qa import SNIPPET_CHARS, retrieval_only_answer, snippet
from novelchat.answering.reader import ANSWER_FIRST, Reader
from novelchat.answering.readers import READERS
from novelchat.config import get_settings
from novelchat.retrieval.evaluate import squash
from novelchat.text.hanzi import is_chinese
from novelchat.text.query import Query

OLD_ANSWERED = 0.17  # the old rule: a best sentence holding less of the question's weight got the note
GOAL_PRECISION, GOAL_NOTE = 0.9, 0.8


@dataclass
class Row:
    """One question's outcome."""

    answerable: bool
    holds: bool  # the lead's sentence(s) hold a gold answer
    shown: bool  # the reply presents them as the answer
    visible: bool  # a gold answer is in the reply's text (the answer sentence or the passages as cut)
    old_visible: bool  # ... in the old reply (each passage cut where the question's words are, 120 characters)
    old_shown: bool
    old_note: bool
    figures: tuple[float, float]  # heuristic.evidence


def observe(qset: T.QuestionSet, k: int, reader: Reader) -> list[Row]:
    """Every question of the set through ``reader``, on its cached passages; the old behaviour (the heuristic's
    lead always shown) beside it."""
    found = qset.retrieved(k)
    rows = []
    for question, answers in [*qset.answerable, *((q, []) for q in qset.unanswerable)]:
        passages, rarity = found[question].passages, found[question].rarity
        query = Query.parse(question)
        best, old = reader.lead(passages, query, rarity), lead(passages, query, rarity)
        holds = bool(best) and any(squash(a) in squash(best.text) for a in answers)
        old_note = not old or old.sentences[0].held < OLD_ANSWERED
        reply = retrieval_only_answer(passages, query, best)
        old_reply = " ".join([old.text if old else "", *(snippet(p.text, query, None, SNIPPET_CHARS)
                                                         for p in passages)])
        rows.append(Row(bool(answers), holds, bool(best) and best.shown_as_answer, seen(answers, reply),
                        seen(answers, old_reply), not old_note, old_note, best.evidence if best else (0.0, 0.0)))
    return rows


def seen(answers: list[str], reply: str) -> bool:
    """Whether a gold answer is in the reply's text (folded as ``squash`` does)."""
    return any(squash(a) in squash(reply) for a in answers)


def share(part: int, whole: int) -> str:
    return f"{part / whole:.3f}" if whole else "  -  "


def line(title: str, rows: list[Row]) -> str:
    """The figures of one set or group: now, then the baseline."""
    unanswerable = sum(not r.answerable for r in rows)
    answerable = len(rows) - unanswerable

    def figures(shown, note, visible) -> str:
        picked = [r for r in rows if shown(r)]
        noted = [r for r in rows if note(r)]
        right = sum(not r.answerable for r in noted)
        return (f"visible {share(sum(visible(r) for r in rows if r.answerable), answerable)} | "
                f"coverage {share(len(picked), len(rows))} precision {share(sum(r.holds for r in picked), len(picked))}"
                f" | note shown {len(noted):>3} precision {share(right, len(noted))} "
                f"recall {share(right, unanswerable)}")

    return (f"  {title:<24} n={answerable:>3}+{unanswerable:<2}  now: "
            f"{figures(lambda r: r.shown, lambda r: False, lambda r: r.visible)}{separation(rows)}\n"
            f"  {'':<24} {'':>7}  old: {figures(lambda r: r.old_shown, lambda r: r.old_note, lambda r: r.old_visible)}")


def separation(rows: list[Row]) -> str:
    """How well a low share of the question in the best sentence marks a not-in-book question (ROC AUC), when the
    rows hold both kinds."""
    missing = [r.figures[0] for r in rows if not r.answerable]
    held = [r.figures[0] for r in rows if r.answerable]
    if not missing or not held:
        return ""
    auc = np.mean([(m < h) + 0.5 * (m == h) for m in missing for h in held])
    return f" | separation {auc:.2f}"


def logistic(x: np.ndarray, y: np.ndarray, l2: float = 1e-2) -> np.ndarray:
    """Logistic-regression coefficients (intercept first), Newton's method with a little L2."""
    x = np.c_[np.ones(len(x)), x]
    w = np.zeros(x.shape[1])
    for _ in range(60):
        p = 1 / (1 + np.exp(-x @ w))
        w -= np.linalg.solve((x.T * (p * (1 - p))) @ x + l2 * np.eye(len(w)), x.T @ (p - y) + l2 * w)
    return w


def probabilities(w: np.ndarray, rows: list[Row]) -> np.ndarray:
    """The fitted confidence of each row."""
    return 1 / (1 + np.exp(-(np.c_[np.ones(len(rows)), np.array([r.figures for r in rows])] @ w)))


def fit(books: dict[str, list[Row]], reader: str) -> None:
    """Print the coefficients (fitted on all these books) and the threshold: the lowest at which answer-first
    precision stays >= the goal, judged book by book on a fit that left that book out (so on books it never saw)."""
    def fitted(rows: list[Row]) -> np.ndarray:
        return logistic(np.array([r.figures for r in rows]), np.array([r.holds for r in rows], float))

    unseen = [(p, r.holds) for name, rows in books.items()
              for p, r in zip(probabilities(fitted([r for other, rs in books.items() if other != name for r in rs]),
                                            rows), rows, strict=True)]
    p, y = np.array([q for q, _ in unseen]), np.array([h for _, h in unseen], float)
    threshold = 1.0
    for t in np.round(np.arange(0.99, 0.0, -0.01), 2):  # lowest t such that precision stays >= the goal above it
        if (p >= t).any() and y[p >= t].mean() < GOAL_PRECISION:
            break
        threshold = t
    w = fitted([r for rows in books.values() for r in rows])
    shown = p >= threshold
    stored = (f"CONFIDENCE = Calibration(intercept={w[0]:.3f}, held={w[1]:.3f}, margin={w[2]:.3f})"
              if reader == "heuristic" else f"NOVELCHAT_READER_CALIBRATION=[{w[0]:.3f}, {w[1]:.3f}, {w[2]:.3f}]")
    print(f"{reader}, fitted on {len(p)} questions of {len(books)} books: {stored}; threshold {threshold:.2f} "
          f"(leave-one-book-out: coverage {shown.mean():.3f}, precision "
          f"{share(int(y[shown].sum()), int(shown.sum()))}; ANSWER_FIRST is {ANSWER_FIRST})")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("-k", type=int, default=5)
    parser.add_argument("--fit", action="store_true", help="refit on the fit sets and print the figures to store")
    parser.add_argument("--first-run", action="store_true", help="add the sets written last (held out, first run)")
    parser.add_argument("--reader", choices=READERS.names(), default="heuristic",
                        help="the answer reader measured (its settings as the app reads them)")
    args = parser.parse_args()
    sets = T.question_sets(args.first_run)
    reader = READERS.create(args.reader, get_settings())
    observed = {qset.name: observe(qset, args.k, reader) for qset in sets}
    if args.fit:
        fit({qset.name: observed[qset.name] for qset in sets if qset.role == T.FIT}, args.reader)
        return 0
    print(f"reader {args.reader}, k={args.k}, keyword retrieval; goal on held-out books: answer-first precision >= "
          f"{GOAL_PRECISION}, note precision >= {GOAL_NOTE}")
    for role in (T.FIT, T.HELD, T.FIRST_RUN):
        chosen = [qset for qset in sets if qset.role == role]
        if not chosen:
            continue
        print(f"\n{role}:")
        for qset in chosen:
            print(line(qset.name, observed[qset.name]))
        for language, chinese in (("Chinese", True), ("English", False)):
            rows = [r for qset in chosen if is_chinese(qset.answerable[0][0]) == chinese for r in observed[qset.name]]
            if rows and len(chosen) > 1:
                print(line(f"all {role}, {language}", rows))
        everything = [r for qset in chosen for r in observed[qset.name]]
        print(line(f"all {role}", everything))
        if role != T.FIT:
            shown = [r for r in everything if r.shown]
            precision = sum(r.holds for r in shown) / len(shown) if shown else 1.0
            print(f"  goal answer-first precision >= {GOAL_PRECISION}: {C.verdict(precision >= GOAL_PRECISION)}; "
                  f"note precision >= {GOAL_NOTE}: the note is never shown without a model")
    return 0


if __name__ == "__main__":
    sys.exit(main())
