"""The cast found from a book's text (``novelchat.roleplay.cast``) against a hand list written before the code
(tests/data/cast_expected.json), and what it gives a name typed alone.

    python bench/cast.py

Per book: seconds to find the cast; names found (of the hand list's names, those in some character of the cast);
merges right (pairs of one hand-list character's found names that the cast puts in one character) and wrong (pairs
of two hand-list characters' names in one character); uncertain merges shown. Then, for 孙悟空 in 西游记: the
fine-tune examples from the name alone, and their precision on the labelled quotes (tests/data/speakers_xiyouji.jsonl)
— the baseline in the same run being the name alone without the cast (what ``finetune.py data`` did before).
Books absent from ../shared/data are skipped.

Target: no wrong merge; 孙悟空 ≥ 300 examples at precision ≥ 0.95.
"""

from __future__ import annotations

import json
import time
from itertools import combinations
from pathlib import Path

import _common as C

EXPECTED = C.REPO / "tests" / "data" / "cast_expected.json"


def path_of(relative: str) -> Path:
    return C.REPO / relative if relative.startswith("corpus/") else C.DATA / relative


def measure(book: str, spec: dict) -> None:
    from novelchat.books.novel import read_novel
    from novelchat.roleplay.cast import cast_of

    path = path_of(spec["file"])
    if not path.is_file():
        print(f"{book}: skipped ({spec['file']} is not here)")
        return
    novel = read_novel(path, 64 << 20)
    started = time.perf_counter()
    cast = cast_of(novel.text, [(c.start, c.number) for c in novel.chapters])
    seconds = time.perf_counter() - started
    owner = {name: c.name for c in cast.characters for name in c.names}
    expected = spec["characters"]
    names = [name for names in expected for name in names]
    found = [name for name in names if name in owner]
    right = possible = wrong = 0
    for names_of_one in expected:
        present = [n for n in names_of_one if n in owner]
        pairs = list(combinations(present, 2))
        possible += len(pairs)
        right += sum(owner[a] == owner[b] for a, b in pairs)
    for one, other in combinations(expected, 2):
        wrong += sum(owner[a] == owner[b] for a in one for b in other if a in owner and b in owner)
    print(f"{book}: {seconds:.2f} s, {len(cast.characters)} characters; names found {len(found)}/{len(names)}; "
          f"merges right {right}/{possible}, wrong {wrong}; uncertain {len(cast.uncertain)}")
    for names_of_one in expected:
        shown = {owner[n] for n in names_of_one if n in owner}
        grouped = " | ".join("、".join(n for n in names_of_one if owner.get(n) == s) for s in shown)
        missing = "、".join(n for n in names_of_one if n not in owner)
        print(f"   {names_of_one[0]}: {grouped}{'  missing: ' + missing if missing else ''}")
    if cast.uncertain:
        print("   uncertain: " + "; ".join(f"{a} ↔ {b}" for a, b in cast.uncertain[:12]))
    if book == "西游记":
        wukong(novel.text, cast)


def wukong(text: str, cast) -> None:
    """孙悟空 from the name alone: examples and their precision on the labelled quotes, with and without the cast."""
    import tempfile

    from novelchat.finetune import data

    labels = {}
    for line in (C.REPO / "tests" / "data" / "speakers_xiyouji.jsonl").read_text(encoding="utf-8").splitlines():
        row = json.loads(line)
        labels[row["quote"]] = row["speaker"]
    with tempfile.TemporaryDirectory() as empty:
        for label, used in (("name alone (before)", None), ("name + cast", cast)):
            persona, others = data.find_cast("孙悟空", "西游记", Path(empty), used)
            examples = data.dialogue_examples(text, persona, "", others)
            judged = [labels[e[-1]["content"]] for e in examples if e[-1]["content"] in labels]
            right = sum(s == "孙悟空" for s in judged)
            precision = right / len(judged) if judged else 0.0
            print(f"   孙悟空, {label}: {len(examples)} examples; precision {precision:.3f} ({right}/{len(judged)} "
                  f"labelled)")


def main() -> int:
    for book, spec in json.loads(EXPECTED.read_text(encoding="utf-8")).items():
        if not book.startswith("_"):
            measure(book, spec)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
