"""Does each rule of the heuristic reader pay for itself on books it was not tuned on?

    python bench/answer_rules.py [-k 5]

For every rule with a knob (``AnswerKnobs``), the reader runs with that rule off (its knob at the neutral value) on
the question sets of bench/trust_data.py, keyword retrieval, the same passages for all. Printed per variant, fitted
and held-out books apart: the share of answerable questions whose first sentence shown holds an answer, and whose
lead (the 1-2 sentences shown as the answer) does. The full reader in the same run is the baseline: a rule whose
removal does not lower the held-out figures does not pay for itself.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import replace

import _common as C  # noqa: F401  (sets the offline environment first)
import trust_data as T

from novelchat.answering.heuristic import KNOBS, lead
from novelchat.retrieval.evaluate import squash

OFF = {  # each rule's knob at the value that turns it off
    "shape_bonus": 0.0, "neighbour": 0.0,
    "in_passage": 0.0, "focus": 0.0, "core_clause": 1.0, "runner_up": 2.0, "tie_break": 0.0,
}


def shares(sets: list[T.QuestionSet], k: int, knobs) -> dict[tuple[str, str], tuple[float, float, int]]:
    """(first sentence holds, lead holds, n) per (role, language) group."""
    tally: dict[tuple[str, str], list[int]] = {}
    for qset in sets:
        found = qset.retrieved(k)
        group = tally.setdefault((qset.role, "en" if qset.name.startswith("fairy") else "zh"), [0, 0, 0])
        for question, answers in qset.answerable:
            best = lead(found[question].passages, question, found[question].rarity, knobs)
            wanted = [squash(a) for a in answers]
            group[0] += bool(best) and any(a in squash(best.sentences[0].text) for a in wanted)
            group[1] += bool(best) and any(a in squash(best.text) for a in wanted)
            group[2] += 1
    return {key: (a / n, b / n, n) for key, (a, b, n) in tally.items()}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("-k", type=int, default=5)
    args = parser.parse_args()
    sets = T.question_sets()
    variants = [("all rules (baseline)", KNOBS)] + [(f"without {name}", replace(KNOBS, **{name: value}))
                                                    for name, value in OFF.items() if getattr(KNOBS, name) != value]
    full = None
    for title, knobs in variants:
        result = shares(sets, args.k, knobs)
        full = full or result
        cells = []
        for key in sorted(result):
            first, both, n = result[key]
            delta = first - full[key][0]
            cells.append(f"{key[0]}/{key[1]} (n={n}) first {first:.3f} ({delta:+.3f}) lead {both:.3f}")
        print(f"{title:<26} " + " | ".join(cells), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
