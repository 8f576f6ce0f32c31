"""Which of a book's names are one character: the decision, made from the book's own evidence.

- what the narration says someone is called (掌柜叫钱满仓: 钱掌柜 is 钱满仓);
- a role form and the one full name of its surname (孙行者, 孙大圣 → 孙悟空; Captain Wentworth → Frederick
  Wentworth), or role forms of one surname when the book has no full name for it (沙僧, 沙和尚);
- a short name ending a longer one (悟空 → 孙悟空, 行者 → 孙行者, 猴王 → 美猴王), an English given name and the one full
  name it begins (Anne → Anne Elliot), a titled full name and the bare one (Sir Walter Elliot → Walter Elliot);
- never two names that talk to each other (consecutive lines in one scene, in as many exchanges as half the lines of
  the one who speaks less): they are kept apart; a merge with more than one candidate is left uncertain (林师傅:
  林守拙 or 林晓? Miss Elliot: Anne or Elizabeth?), unless one speaks in the same chapters and the others do not.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping

from novelchat.roleplay.name_forms import EN_MALE_RANKS, NameForm, form

VETO = 2  # two names with this many exchanges between them (and a SHARE of the fewer lines) are two people
SHARE = 0.5
ALIKE = 0.5  # of several candidates, one whose lines fall in the same chapters this much (cosine) — and twice as
# much as any other's — is the one (唐僧 is 唐三藏, who speaks where 唐僧 does, not 唐太宗)
FEMALE_ROLES = {"大娘", "姑娘", "小姐", "太太", "奶奶", "婆婆", "婆", "嫂子", "嫂", "娘子", "夫人", "姐姐", "妹妹",
                "丫头",
                "Mrs", "Miss", "Ms", "Lady", "Madame"}
Uncertain = tuple[str, str]


class Grouping:
    """Names joined into characters (union–find), with the merges left uncertain; each character's lines and the
    exchanges between characters are kept up to date as they join."""

    def __init__(self, lines: Mapping[str, Mapping[int, int]], exchanges: Mapping[tuple[str, str], int]):
        self.parent = {name: name for name in lines}
        self.chapters = {name: Counter(counts) for name, counts in lines.items()}  # per character (its root name)
        self.spoken = {name: sum(counts.values()) for name, counts in lines.items()}
        self.between: dict[str, Counter] = {name: Counter() for name in lines}
        for (a, b), n in exchanges.items():
            if a in self.between and b in self.between:
                self.between[a][b] += n
                self.between[b][a] += n
        self.uncertain: list[Uncertain] = []

    def find(self, name: str) -> str:
        while self.parent[name] != name:
            self.parent[name] = self.parent[self.parent[name]]
            name = self.parent[name]
        return name

    def talk(self, a: str, b: str) -> bool:
        """Whether the characters of ``a`` and ``b`` (as grouped so far) talk to each other: two people."""
        ra, rb = self.find(a), self.find(b)
        return self.between[ra][rb] >= max(VETO, SHARE * min(self.spoken[ra], self.spoken[rb]))

    def _union(self, root: str, other: str) -> None:
        self.parent[other] = root
        self.spoken[root] += self.spoken.pop(other)
        self.chapters[root].update(self.chapters.pop(other))
        for name, n in self.between.pop(other).items():
            self.between[name][other] -= n
            del self.between[name][other]
            self.between[name][root] += n
            self.between[root][name] += n
        self.between[root].pop(root, None)

    def join(self, a: str, b: str) -> None:
        """One character, unless they talk to each other (then uncertain)."""
        if self.find(a) == self.find(b):
            return
        if self.talk(a, b):
            self.doubt(a, [b])
            return
        self._union(self.find(a), self.find(b))

    def join_one(self, name: str, candidates: list[str]) -> None:
        """``name`` joins the one character among ``candidates``; with several, each is an uncertain merge."""
        candidates = [c for c in candidates if not self.talk(name, c)]  # 唐僧 is not 唐太宗: they talk
        roots = {self.find(c) for c in candidates} - {self.find(name)}
        if len(roots) > 1:
            own = self.chapters[self.find(name)]
            alike = sorted(((_cosine(own, self.chapters[r]), r) for r in roots), reverse=True)
            if alike[0][0] >= ALIKE and alike[0][0] >= 2 * alike[1][0]:
                roots = {alike[0][1]}
        if len(roots) == 1:
            self.join(roots.pop(), name)
        elif roots:
            self.doubt(name, candidates)

    def doubt(self, name: str, candidates: list[str]) -> None:
        for other in candidates:
            pair = (name, other)
            if self.find(name) != self.find(other) and pair not in self.uncertain:
                self.uncertain.append(pair)

    def groups(self) -> list[list[str]]:
        found: dict[str, list[str]] = {}
        for name in self.parent:
            found.setdefault(self.find(name), []).append(name)
        return list(found.values())


def group(lines: Mapping[str, Mapping[int, int]], namings: Iterable[tuple[str, str]],
          exchanges: Mapping[tuple[str, str], int]) -> tuple[list[list[str]], list[Uncertain]]:
    """The characters (each a list of names) and the uncertain merges (name, the character it may be).
    ``lines``: each name's lines per chapter; ``exchanges``: lines exchanged per pair of names (sorted)."""
    forms = {name: form(name) for name in lines}
    grouping = Grouping(lines, exchanges)
    for called, name in namings:  # 掌柜叫钱满仓
        role_form = form(name).family + called
        for other in (role_form, called):
            if other in forms and name in forms:
                grouping.join(name, other)
    fulls = [f for f in forms.values() if f.full or f.family and f.given]
    for f in forms.values():
        if f.role and f.given and f.family and f.role != "Mrs":  # Sir Walter Elliot → Walter Elliot
            base = f"{f.given} {f.family}"
            if base in forms:
                grouping.join(base, f.name)
    for _ in range(2):  # 三藏 joins 唐三藏 first, then 唐僧 sees 唐三藏 with 三藏's lines
        for short in sorted(forms, key=len, reverse=True):
            if not short.isascii():
                longer = [n for n in forms if n != short and n.endswith(short) and len(n) - len(short) <= 2]
                grouping.join_one(short, longer)
        for f in forms.values():
            if f.role and not f.given:
                _role_form(grouping, f, fulls, forms.values())
            elif f.given and not f.family and f.name.isascii():  # Anne, Sir Walter
                grouping.join_one(f.name, [g.name for g in fulls if g.given == f.given and not g.role])
    doubts = (p for p in grouping.uncertain if grouping.find(p[0]) != grouping.find(p[1]))
    return grouping.groups(), list(dict.fromkeys(doubts))


def _role_form(grouping: Grouping, f: NameForm, fulls: list[NameForm], every: Iterable[NameForm]) -> None:
    """A surname with a role (钱掌柜, 何伯, Captain Wentworth) joins the one full name of its surname; with none, the
    other role forms of its surname (沙僧, 沙和尚; 何伯, 何老伯) of the same sex."""
    english = f.name.isascii()
    if english and f.role not in EN_MALE_RANKS:  # Mr Elliot, Miss Elliot, Mrs Musgrove: any of a family
        candidates = [g.name for g in fulls if g.family == f.family and not g.role]
        grouping.doubt(f.name, candidates)
        return
    candidates = [g.name for g in fulls if g.family == f.family and not g.role]
    if candidates:
        grouping.join_one(f.name, candidates)
        return
    female = f.role in FEMALE_ROLES
    for other in every:
        if other.family == f.family and other.role and not other.given and (other.role in FEMALE_ROLES) == female \
                and other.name.isascii() == english and other.name != f.name:
            grouping.join(f.name, other.name)



def _cosine(a: Counter, b: Counter) -> float:
    """How alike two characters' lines per chapter are (0: nothing in common or no lines)."""
    dot = sum(n * b[c] for c, n in a.items())
    norm = (sum(n * n for n in a.values()) * sum(n * n for n in b.values())) ** 0.5
    return dot / norm if norm else 0.0
