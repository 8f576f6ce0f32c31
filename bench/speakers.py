"""Speaker attribution (``speakers.py``) against the hand-labelled quotes in tests/data/speakers_*.jsonl.

    python bench/speakers.py [-v]

Per book: precision (correct / attributed to a named character) and recall (correct / quotes whose speaker is
a named character), for
- ``speakers.attribute`` with the book's whole cast (fine-tune export),
- ``speakers.attribute`` with one character at a time (a role-play card knows only its own names),
- the old rule, in the same run: a quote is a character's when one of their names is in the 30 characters of
  narration before it (what ``ragchat.character_lines`` did; one quote can go to several characters).
Each book is read whole (as ``novel.py`` decodes and normalises it), then scored on its labelled quotes.
``-v`` prints every wrong or missed attribution of the new rule (for one card at a time, only the wrong ones).
The sample novella is in the repository; the three classics come from ../shared/data/zh and are skipped when
absent.

Target: precision >= 0.97 at recall >= 0.85 on every book.
"""

from __future__ import annotations

import argparse
import json
import re
import time
from collections.abc import Callable, Iterable

import _common as C

LABELS = [C.REPO / "tests" / "data" / f"speakers_{book}.jsonl" for book in ("novella", "xiyouji", "shuihu", "honglou")]
OLD_QUOTE = re.compile(r"“([^”]{2,200})”|「([^」]{2,200})」|\"([^\"\n]{2,200})\"")  # ragchat's, before speakers.py


def old_rule(text: str, cast: list[list[str]]) -> dict[int, set[str]]:
    """Quote start → the characters the old rule gives it (a name in the 30 narration characters before)."""
    found: dict[int, set[str]] = {}
    previous_end = 0
    for match in OLD_QUOTE.finditer(text):
        before = text[max(previous_end, match.start() - 30): match.start()]
        previous_end = match.end()
        found[match.start()] = {names[0] for names in cast if any(name in before for name in names)}
    return found


def new_rule(text: str, cast: list[list[str]]) -> dict[int, set[str]]:
    from novelchat.roleplay.speakers import attribute

    return {q.start: {q.speaker} for q in attribute(text, cast) if q.speaker}


def one_card_at_a_time(text: str, cast: list[list[str]]) -> dict[int, set[str]]:
    from novelchat.roleplay.speakers import attribute

    found: dict[int, set[str]] = {}
    for names in cast:
        for q in attribute(text, [names]):
            if q.speaker:
                found.setdefault(q.start, set()).add(q.speaker)
    return found


def score(labels: list[dict], found: dict[int, set[str]]) -> tuple[float, float, int, int]:
    """(precision, recall, correct, attributed) of ``found`` on the labelled quotes."""
    attributed = correct = 0
    for label in labels:
        given = found.get(label["offset"], set())
        attributed += len(given)
        correct += label["speaker"] in given
    named = sum(label["speaker"] is not None for label in labels)
    return (correct / attributed if attributed else 0.0), correct / named, correct, attributed


def read_book(label: dict) -> str | None:
    from novelchat.books.novel import read_novel

    path = C.REPO / label["file"] if label["file"].startswith("corpus/") else C.DATA / label["file"]
    return read_novel(path, 64 << 20).text if path.is_file() else None


def misses(labels: Iterable[dict], found: dict[int, set[str]], text: str, every: bool) -> Iterable[str]:
    """Each labelled quote given to a wrong character (and, when ``every``, each missed one), with its context."""
    for label in labels:
        given = found.get(label["offset"], set())
        if given - {label["speaker"]} or every and label["speaker"] not in given | {None}:
            at = label["offset"]
            context = text[max(0, at - 50): at].replace("\n", "⏎")
            yield f"{label['speaker']} ≠ {sorted(given) or '—'} @{at}: …{context}【{label['quote'][:30]}】"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("-v", "--verbose", action="store_true", help="print each wrong or missed attribution")
    args = parser.parse_args()
    rules: list[tuple[str, Callable]] = [("new, whole cast", new_rule), ("new, one card", one_card_at_a_time),
                                         ("old rule", old_rule)]
    print(f"{'book':<6} {'chapters':<9} {'quotes':>6} {'named':>5}  " + "  ".join(f"{name:>15}" for name, _ in rules)
          + "   (precision / recall)   time, whole book")
    for path in LABELS:
        labels = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
        text = read_book(labels[0])
        if text is None:
            print(f"{labels[0]['book']:<6} skipped: {labels[0]['file']} is not here")
            continue
        found, wrong = {}, []
        for name, rule in rules:
            started = time.perf_counter()
            found[name] = rule(text, labels[0]["candidates"])
            if name == "new, whole cast":
                seconds = time.perf_counter() - started
            if args.verbose and name.startswith("new"):
                wrong += [f"  [{name}] {miss}" for miss in misses(labels, found[name], text, every=name == rules[0][0])]
        for subset in ("tuning", "held-out"):
            chosen = [label for label in labels if label["set"] == subset]
            if not chosen:
                continue
            chapters = ",".join(str(n) for n in sorted({label["chapter"] for label in chosen}))
            named = sum(label["speaker"] is not None for label in chosen)
            cells = [f"{p:.3f} / {r:.3f}" for p, r, _, _ in (score(chosen, found[name]) for name, _ in rules)]
            timing = f"   {seconds:.2f} s for {len(text) / 1000:.0f}k chars" if subset == "tuning" else ""
            print(f"{labels[0]['book']:<6} {subset + ' ' + chapters if subset == 'held-out' else chapters:<9} "
                  f"{len(chosen):>6} {named:>5}  " + "  ".join(f"{c:>15}" for c in cells) + timing)
        if args.verbose:
            print("\n".join(wrong))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
