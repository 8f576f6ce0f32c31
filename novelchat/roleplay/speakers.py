"""Who says each quote of a text (speaker attribution), read from the narration around the quote.

    attribute(text, [persona.names for persona in cast]) -> [Quote(start, end, text, speaker), …]

A speaker is a known character (one of ``characters``: each a list of names, the canonical one first, as
``Persona.names`` gives them) or None. The rules, each a regular expression over the narration:

- a tag before the quote — 林晓道：「…」, 何伯冷笑一声：「…」, 宝玉听了，笑道：「…」 — names the first character at the
  head of a clause leading to the colon; a name after 看着/对/向/问/与… is the one spoken to, never the speaker
  (那妇人看着武松道：「叔叔…」 is not 武松's line);
- a tag after it — 」林晓说。, 」钱掌柜一拍大腿，「… (a quote split by a tag is one speaker's) — but not 」X听了;
- 他/她 in a tag stand for the one character the paragraph's narration (or the narration just before it) is
  about, of the pronoun's gender as the text itself uses it;
- 又道：「…」 with no subject continues the previous speaker; a paragraph that is only narration about one character
  gives them its quote;
- bare quotes in consecutive paragraphs take turns: after A then B comes A again (or the one B just called by
  name), never when it is not plain who;
- a name the text uses in tags of its own but the cast lacks (王婆笑道：, 那人说，) is someone else: the search for a
  subject stops there, and they get no line — so one card's names (role-play) are enough.

Anything else is None: unknown is an answer, a speaker is never guessed. Quotes are “…”, 「…」, 『…』 or "…"
(old texts mix “…" and "…”); English tags (``said Tom``) are read too.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from novelchat.text.hanzi import simplified

_OPENERS = {"“": "”\"", "「": "」", "『": "』", '"': "\"”"}
_MARKS = re.compile(r"[“「『\"\n]")
_CLOSERS = "”」』\""
_SENTENCE_END = re.compile(r"[。．！？!?…]+")
_CLAUSE_END = re.compile(r"[，,；;：:—]+")
_PIECES = re.compile(r"[，,、；;：:—。．！？!?…|]+")
_INTRO = re.compile(r"(?:[：:]|[道说曰问叫喊嚷骂想](?:一?声)?[，,]?)\s*$")  # 林晓道： / 贾母笑道， / 叫一声
_SAYS = re.compile(r"(?<![没不未别莫])(?:[道说问曰答叫喊嚷骂笑哼叹念喝吼应想补]|重复|开口|脱口)")
_ADVERB = (r"(?:[又便就也都却只忙乃遂因方才即亦且正还再仍先复]|连忙|急忙|赶忙|随即|一面|冷笑|微笑|含笑|陪笑|大笑|哈哈"
           r"|连声|低声|高声|大声|轻声|厉声|悄悄|慢慢|点头|摇头|回头|抬头|低头|不觉|不禁|忍不住)")
_VERB = r"(?:[道说问曰叫喊嚷骂答应笑叹想喝]|寻思|思量|[分吩嘱]咐|商议|告诉|埋怨|央告|哀告|自忖)+(?:[着了]|一?声)?"
_SAYS_AT_END = re.compile(rf"{_ADVERB}*{_VERB}$")
# Before a name, these make it the one acted on or spoken to (看着X道, 对那X说, 问X, 报与X道, 按着X笑道, 埋怨X道).
_SPOKEN_TO = (r"(?:(?:[看望瞧瞅盯对向朝冲问和与同跟给替叫唤请劝谢拉扯推拍指把将被见随陪骂打命教让使带领扶携抱迎送等"
              r"求拜恨怪笑于]|告诉|[嘱吩分]咐|埋怨|[央哀]告)[着了住过到]?|[着了住过])(?:那个|这个|那|这)?$")
_OBJECT_BEFORE = re.compile(_SPOKEN_TO)
_PLACE_BEFORE = re.compile(r"[到在去往从进](?:那个|这个|那|这)?$")  # 去武松房里…: a place, not a speaker
# What may stand before a name at the head of its clause: 那妇人, 只见宝钗, 还是沈墨舟, 掌柜钱满仓, 次日武松.
_LEAD = re.compile(r"(?:那|这|好|只见那?|忽见|却见|但见|又见|还是|原来这?|当下|当时|此时|这时|却说|且说|话说|于是"
                   r"|唬得个|掌柜|只有|惟有|却是|正是|便是|[次当那一今]日|次早)")
# A clause that starts so (or holds 有人 or 被) has a subject of its own, not a character: the walk back stops there.
_OTHER_SUBJECT = re.compile(r"^(?:[我你咱那这众]|大家|两人|二人|三人|人们|一个|一人|又一|[只忽却但又]见|只听|忽听"
                            r"|却听|自古|常言|古人|俗话|俗语|古语|古云|诗曰|有诗|正是|[^，,]{1,3}们)|有人|被")
# The first characters of a clause that is no name (…边跑边喊, 心里自想道, 随即笑道): only a clause next to the colon
# whose words before the speech verb start otherwise is taken for an unknown speaker's tag (王婆笑道, 妖精说).
_NOT_A_NAME = set("便就又也都却只忙乃遂因方才即亦且正还再仍先复连急赶随竟倒偏反果真已早曾刚恰一不没未莫别自暗悄轻慢"
                  "大高厉忍顿过半好边二笑哭叹喝骂嚷叫喊问答应劝说道看望瞧听见走跑跳站坐起拿把将向对朝和与同跟给冷微含陪"
                  "苦低抬转拱点摇伸扶拉推拍指接递放端提抱咬皱叉蹲跪扭捧吸吐磕伏回来去出进上下打取掏撕踩抓拽捡揣摸握扯喘"
                  "叼擦吹嗤呸咂吧哼唤想思念收解挂穿脱撑爬滚咧乐嘿哈满脸面眼嘴口心手头声目眉神在用以忽寻分依左跌发按诧嘱"
                  "商称赞夸告埋央哀禀忖")
_GOES_ON = re.compile(r"^(?:说着|说毕|一面|一边|接着|随即|[又便因乃遂复却忙笑说道问](?!一))")  # 又道, 说着又问
_REACTS = re.compile(r"^[也却只便都又]?(?:听|闻|一愣|一怔|愣|怔|呆|没|不|未|哽)")  # 」林晓没有说话。 / 」宝玉听了
_NO_NAME_IN = set("有的了着是我你他她咱些其")
_DISCOVER = re.compile(rf"(?:^|(?<=[，,。．！？!?：:；;”」』\"|\s]))(?:{_LEAD.pattern})?([\u4e00-\u9fff]{{2,3}}?)"
                       rf"{_ADVERB}*{_VERB}[：:，,]", re.MULTILINE)
_TOGETHER = re.compile(r"齐声|异口同声|一齐|同声|都道")
_PRONOUN = re.compile(r"^[他她](?![们人])")
_SUBJECT_PRONOUN = {gender: re.compile(rf"(?:^|[，,。．！？!?；;：:、|\s]){pronoun}(?![们人])")
                    for gender, pronoun in (("f", "她"), ("m", "他"))}
_EN_SAYS = re.compile(r"\b(?:said|says|asked|cried|replied|answered|called|shouted|whispered|exclaimed)\b")
_EN_TO = re.compile(r"\b(?:to|at|of)\s+(?:the\s+)?$")
TAIL = 16  # how far before its closing speech verb a clause's subject may stand (…怎禁猪八戒气不忿在旁漏八分儿唆嘴道：)
OFTEN = 3  # someone not in the cast who has this many tags of their own stops a search past them
LONG = 12  # a clause longer than this is likely unpunctuated: a name near its speech verb goes before its head


@dataclass(frozen=True)
class Quote:
    """A quote in a text: ``text[start:end]`` with its marks, the words inside, and who says them (None: unknown)."""

    start: int
    end: int
    text: str
    speaker: str | None = None


def find_quotes(text: str) -> list[tuple[int, int]]:
    """(start, end) of each quote: ``“…”``, ``「…」``, ``『…』`` or ``"…"`` (old texts mix ``“…"`` and ``"…”``).

    Marks of another kind inside a quote are part of it. A quote never crosses a line end: one that is not closed
    on its line (or before the next ``“`` — a lost closing mark) ends there; a lone ``"`` is no quote.
    """
    spans = []
    at = 0
    while (found := _MARKS.search(text, at)) is not None:
        start, mark = found.start(), found.group()
        at = start + 1
        if mark == "\n":
            continue
        line_end = text.find("\n", at)
        line_end = len(text) if line_end < 0 else line_end
        close = min((i for i in (text.find(c, at, line_end) for c in _OPENERS[mark]) if i >= 0), default=-1)
        again = text.find(mark, at, close if close >= 0 else line_end) if mark != '"' else -1
        if again >= 0:
            spans.append((start, again))
            at = again
        elif close >= 0:
            spans.append((start, close + 1))
            at = close + 1
        elif mark != '"' and line_end > at:
            spans.append((start, line_end))
            at = line_end
    return [(start, end) for start, end in spans if end - start > 1]


def attribute(text: str, characters: Iterable[Sequence[str]]) -> list[Quote]:
    """Every quote of ``text`` with its speaker: the canonical name (first of a character's names) or None.

    Text and names are read in simplified characters (a 繁體 book, a card in 简体); the quotes keep the book's own.
    """
    cast = [list(names) for names in characters]
    folded = [[simplified(name) for name in names] for names in cast]
    canonical = {names[0]: own[0] for names, own in zip(folded, cast, strict=True) if names}
    return [Quote(q.start, q.end, text[q.start + 1: q.start + 1 + len(q.text)], canonical.get(q.speaker, q.speaker))
            for q in _Reading(simplified(text), folded).quotes()]


def lines_of(text: str, names: Sequence[str], others: Iterable[Sequence[str]] = ()) -> list[str]:
    """The words the character with these ``names`` says in ``text`` (``others``: the rest of the cast, if known)."""
    return [q.text for q in attribute(text, [names, *others]) if q.speaker == names[0]]


class _Reading:
    """One text read against one cast: quote spans, paragraphs, the cast's names and the speakers found so far."""

    def __init__(self, text: str, characters: Iterable[Sequence[str]]):
        self.text = text
        self.canonical = {name: names[0] for names in characters for name in names if name}
        self.tags = Counter(_DISCOVER.findall(text)) if self.canonical else Counter()
        for name in self.tags:  # someone else's tags: 王婆笑道：, 那人说，
            if _NOT_A_NAME.isdisjoint((name[0], name[-1])) and _NO_NAME_IN.isdisjoint(name) and not any(
                    name in known or known in name for known in self.canonical):
                self.canonical[name] = ""  # a speaker, but none of the cast
        ordered = sorted(self.canonical, key=len, reverse=True)
        self.names = re.compile("|".join(_word(name) for name in ordered)) if ordered else None
        self.spans = find_quotes(text)
        self.speakers: list[str | None] = [None] * len(self.spans)  # "": someone, but none of the cast
        self.line_starts = [text.rfind("\n", 0, start) + 1 for start, _ in self.spans]
        self.genders: dict[str, str] = {}

    def quotes(self) -> list[Quote]:
        if self.names is not None:
            self.genders = self._genders()
            for i in range(len(self.spans)):
                self.speakers[i] = self._tagged(i)
            self._take_turns()
        return [Quote(start, end, self._inside(start, end), speaker or None)
                for (start, end), speaker in zip(self.spans, self.speakers, strict=True)]

    # --- the text around a quote ------------------------------------------------------------------------------
    def _inside(self, start: int, end: int) -> str:
        return self.text[start + 1: end - 1] if self.text[end - 1] in _CLOSERS else self.text[start + 1: end]

    def _same_line(self, i: int, j: int) -> bool:
        return 0 <= i < len(self.spans) and 0 <= j < len(self.spans) and self.line_starts[i] == self.line_starts[j]

    def _opens_line(self, i: int) -> bool:
        return not self.text[self.line_starts[i]: self.spans[i][0]].strip()

    def _before(self, i: int) -> str:
        """The narration between the previous quote of the line (or the line's start) and quote i."""
        start = self.spans[i - 1][1] if self._same_line(i - 1, i) else self.line_starts[i]
        piece = self.text[start: self.spans[i][0]].rstrip().rstrip(_CLOSERS)
        lost = max(piece.rfind(c) for c in _CLOSERS)  # the end of a quote whose opening mark is missing
        return piece[lost + 1:].strip()

    def _after(self, i: int) -> str:
        """The narration between quote i and the next quote of the line (or the line's end)."""
        end = self.spans[i + 1][0] if self._same_line(i, i + 1) else self.text.find("\n", self.spans[i][1])
        return self.text[self.spans[i][1]: end if end >= 0 else len(self.text)]

    def _previous_line(self, i: int) -> str:
        """The last non-blank line before quote i's line."""
        head = self.text[: self.line_starts[i]].rstrip()
        return head[head.rfind("\n") + 1:]

    @staticmethod
    def _narration(line: str) -> str:
        """A line with its quotes blanked out (so names inside quotes never count)."""
        return re.sub(r"“[^”\n]*(?:”|$)|「[^」\n]*(?:」|$)|『[^』\n]*(?:』|$)|\"[^\"\n]*\"", "|", line)

    # --- tags ---------------------------------------------------------------------------------------------------
    def _tagged(self, i: int) -> str | None:
        """The speaker a tag gives quote i: before it, splitting it from the previous quote, or after it."""
        before = self._before(i)
        if not before and not self._same_line(i - 1, i) and self._opens_line(i):
            previous = self._narration(self._previous_line(i)).rsplit("|", 1)[-1].strip()
            before = previous if _INTRO.search(previous) else ""  # 唐僧道：⏎“寻甚人？”
        if _INTRO.search(before) or _EN_SAYS.search(_CLAUSE_END.split(before.rstrip(",: "))[-1]):
            return self._subject(_INTRO.sub("", before), i)
        if self._same_line(i - 1, i) and before.endswith(("，", ",")):
            tag = self._tag_after(before, i - 1, split=True)
            if tag is not None:  # “…，”X道，“…” / “…”他顿了顿，“…”: both halves are one speaker's
                return tag
        if before and not self._same_line(i - 1, i) and _SENTENCE_END.search(before[-1]):
            found = set(self._head_subjects(before))  # 何伯把马灯举高，…疙瘩。“没瞧见。”
            if len(found) == 1:
                return found.pop()
        after = self._after(i)
        split = after.rstrip().endswith(("，", ",")) and self._same_line(i, i + 1)
        return self._tag_after(after, i, split, beat=self._opens_line(i) and not before)

    def _tag_after(self, after: str, i: int, split: bool, beat: bool = False) -> str | None:
        """The speaker of quote i named by the narration right after it: 」林晓说。 / 」钱掌柜一拍大腿，「… (``split``:
        the same speaker's words go on after it) / a paragraph opening with the quote, then what X did (``beat``)."""
        after = after.lstrip()
        sentence = _SENTENCE_END.split(after, 1)[0]
        if _EN_SAYS.search(re.split(r"[.!?;:]", after, maxsplit=1)[0]):
            return self._english_speaker(re.split(r"[.!?,;:]", after, maxsplit=1)[0])
        clause = _CLAUSE_END.split(sentence, 1)[0]
        if after[len(clause): len(clause) + 1] in ("：", ":") or not clause or _TOGETHER.search(clause):
            return None  # 」林晓一愣：「 — that colon brings the next quote
        if not (split or _SAYS.search(sentence) or beat):
            return None
        head = _PRONOUN.match(clause) or self._head(clause)
        if head is None or not split and _REACTS.match(clause[head.end():]) or len(self._named(clause)) > 1:
            return None
        if head.group() in ("他", "她"):
            return self._pronoun(head.group(), i, clause, follows=i)
        return self.canonical[head.group()]

    def _subject(self, tag: str, i: int) -> str | None:
        """Who speaks in the narration ``tag`` that leads to a colon: the subject of the clause next to the colon, or
        of a clause before it when those in between have none of their own (宝玉听了，笑道：); 又道：「…」 goes on
        with the previous speaker (and 宝玉想一想，果然有理．又道： with 宝玉)."""
        if _EN_SAYS.search(tag):
            return self._english_speaker(_CLAUSE_END.split(tag.rstrip(",: "))[-1])
        sentences = [s.strip() for s in _SENTENCE_END.split(tag) if s.strip()]
        for number, sentence in enumerate(reversed(sentences)):
            if number and not _GOES_ON.match(sentences[-number]):
                break
            clauses = [c.strip() for c in _CLAUSE_END.split(sentence) if c.strip()]
            for place, clause in enumerate(reversed(clauses)):
                last = number == 0 and place == 0
                who = self._clause_subject(clause, last)
                if who in ("他", "她"):
                    opens = not tag[: tag.rfind(clause)].strip() and self._same_line(i - 1, i)
                    return self._pronoun(who, i, clause, follows=i - 1 if opens else None)
                if who is not None:
                    return who
                if _OTHER_SUBJECT.search(clause) or last and self._unknown_speaker(clause):
                    return None
        if len(sentences) == 1 and _GOES_ON.match(tag.strip()) and not self.names.search(tag) and self._same_line(
                i - 1, i):
            return self.speakers[i - 1]
        return None

    def _unknown_speaker(self, clause: str) -> bool:
        """Whether a clause ending in a speech verb starts with a short name that is not a character's (王婆笑道)."""
        verb = _SAYS_AT_END.search(clause)
        if verb is None or not 0 < verb.start() <= 4 or clause[0] in _NOT_A_NAME:
            return False
        return not self.names.search(clause, 0, verb.start())  # 按着宝玉笑道: a name is there, spoken to

    def _head(self, clause: str) -> re.Match | None:
        """The name at the head of a clause (after at most a lead such as 那, 只见, 还是), if any."""
        found = self.names.search(clause)
        if found is None or clause[found.end(): found.end() + 1] in ("之", "被"):
            return None  # 袭人之母, 武大被这妇人赶出去
        lead = clause[: found.start()]
        return found if not lead or _LEAD.fullmatch(lead) else None

    def _clause_subject(self, clause: str, last: bool) -> str | None:
        """The character who is the subject of a clause (X道 / X笑道 right before the colon first, then the head of
        the clause, then a name not far before the closing speech verb), or 他/她."""
        if _PRONOUN.match(clause):
            return clause[0]
        verb = _SAYS_AT_END.search(clause) if last else None
        candidates = list(self.names.finditer(clause, 0, verb.start())) if verb else []
        near = [m for m in candidates if self._acting(clause, m, verb) and (m.end() == verb.start() or verb.start()
                - m.end() <= TAIL and (self.canonical[m.group()] or self.tags[m.group()] >= OFTEN))]
        if near and (near[-1].end() == verb.start() or len(clause) > LONG):
            return self.canonical[near[-1].group()]
        head = self._head(clause)
        if head is not None:
            return self.canonical[head.group()]
        return self.canonical[near[-1].group()] if near else None

    @staticmethod
    def _acting(clause: str, found: re.Match, verb: re.Match) -> bool:
        """Whether a name in a clause is not one acted on or spoken to, nor a possessor (X的, X之), nor — unless right
        before the speech verb (…就要进去三藏道) — a place (去X房里)."""
        if clause[found.end(): found.end() + 1] in ("的", "之") or _OBJECT_BEFORE.search(clause, 0, found.start()):
            return False
        return found.end() == verb.start() or not _PLACE_BEFORE.search(clause, 0, found.start())

    def _head_subjects(self, narration: str) -> list[str]:
        """The characters at the head of the clauses of ``narration`` (names spoken to or about are left out)."""
        found = []
        for clause in _PIECES.split(narration):
            head = self._head(clause.strip())
            if head is not None:
                found.append(self.canonical[head.group()])
        return found

    def _named(self, text: str) -> set[str]:
        return {self.canonical[m.group()] for m in self.names.finditer(text)}

    # --- 他 and 她 ---------------------------------------------------------------------------------------------
    def _pronoun(self, pronoun: str, i: int, clause: str, follows: int | None) -> str | None:
        """Who a 他/她 opening ``clause`` (a tag of quote i) is, of the pronoun's gender: the speaker of the quote it
        directly ``follows``; else the one character at the head of a clause in the paragraph's narration before it
        (since the last quote first) or, when it opens the paragraph, in the narration paragraph just before.
        None in texts that hardly write 她 (there 他 is anyone)."""
        if not self.genders:
            return None
        if follows is not None and self.speakers[follows] is not None and self._fits(self.speakers[follows], pronoun):
            return self.speakers[follows]
        paragraph = self._narration(self.text[self.line_starts[i]: self.spans[i][0]])
        head = paragraph[: paragraph.rfind(clause)] if clause in paragraph else paragraph
        if not head.strip() or head.lstrip("| ").startswith(pronoun) and not self._fitting(head, pronoun):
            previous = self._previous_line(i)
            if re.search(r"[。！？!?…—][”」』\"]", previous):  # a speech: the turn changes there
                return None
            head = self._narration(previous)
        for narration in (head.rsplit("|", 1)[-1], head):
            fits = self._fitting(narration, pronoun)
            if fits:
                return fits.pop() if len(fits) == 1 else None
        return None

    def _fitting(self, narration: str, pronoun: str) -> set[str]:
        """The characters at the head of a clause of ``narration`` that 他/她 can stand for."""
        return {w for w in self._head_subjects(narration) if not w or self._fits(w, pronoun)}

    def _fits(self, who: str, pronoun: str) -> bool:
        return self.genders.get(who, "") != ("m" if pronoun == "她" else "f")

    def _genders(self) -> dict[str, str]:
        """Each character's 他 or 她, as the text uses them at the head of clauses in paragraphs about them alone;
        none when the text hardly writes 她."""
        if self.text.count("她") * 10 < self.text.count("他"):
            return {}  # 他 stands for anyone here
        counts: dict[str, Counter] = {}
        for line in self.text.split("\n"):
            narration = self._narration(line)
            named = self._named(narration)
            if len(named) == 1 and "" not in named:
                tally = counts.setdefault(named.pop(), Counter())
                tally.update({g: len(p.findall(narration)) for g, p in _SUBJECT_PRONOUN.items()})
        genders = {"": ""}  # never empty: the text uses 她
        for who, tally in counts.items():
            if tally["f"] >= max(2, 2 * tally["m"]):
                genders[who] = "f"
            elif tally["m"] >= max(2, 2 * tally["f"]):
                genders[who] = "m"
        return genders

    # --- turns ----------------------------------------------------------------------------------------------------
    def _take_turns(self) -> None:
        """Bare quotes (a paragraph that is only a quote) in a two-person exchange: A, B, then A — or the one B's
        line calls by name."""
        turns: list[tuple[int, list[int]]] = []  # (line start, quotes) of paragraphs holding quotes
        for i, start in enumerate(self.line_starts):
            if turns and turns[-1][0] == start:
                turns[-1][1].append(i)
            else:
                turns.append((start, [i]))
        for t, (start, members) in enumerate(turns):
            line_end = self.text.find("\n", start)
            line = self.text[start: line_end if line_end >= 0 else len(self.text)].strip()
            bare = line == self.text[slice(*self.spans[members[0]])]
            if len(members) != 1 or self.speakers[members[0]] is not None or not bare:
                continue
            b = self._turn_speaker(turns, t - 1)
            called = self._called(turns[t - 1][1][-1]) if b is not None else None
            a = self._turn_speaker(turns, t - 2) if b is not None and self._adjacent(turns, t - 2) else None
            if called and called != b:
                self.speakers[members[0]] = called
            elif a and a != b:  # (b may be "", someone not in the cast)
                self.speakers[members[0]] = a

    def _turn_speaker(self, turns: list[tuple[int, list[int]]], t: int) -> str | None:
        """The one speaker of paragraph t, if it directly precedes paragraph t + 1 (no narration between)."""
        if not self._adjacent(turns, t):
            return None
        found = {self.speakers[i] for i in turns[t][1]} - {None}
        return found.pop() if len(found) == 1 else None

    def _adjacent(self, turns: list[tuple[int, list[int]]], t: int) -> bool:
        """Whether paragraph t is directly followed by paragraph t + 1 (blank lines aside)."""
        if t < 0 or t + 1 >= len(turns):
            return False
        line_end = self.text.find("\n", turns[t][0])
        return line_end >= 0 and not self.text[line_end: turns[t + 1][0]].strip()

    def _called(self, i: int) -> str | None:
        """The character quote i opens by calling (“晓丫头，…”), if any."""
        words = self._inside(*self.spans[i])
        found = self.names.match(words)
        if found and words[found.end(): found.end() + 1] in ("，", ",", "！", "!"):
            return self.canonical[found.group()]
        return None

    def _english_speaker(self, clause: str) -> str | None:
        """``said the brother`` / ``Tom asked`` → the one character named there (not ``said to Tom``)."""
        named = {self.canonical[m.group()] for m in self.names.finditer(clause)
                 if not _EN_TO.search(clause[: m.start()])}
        return named.pop() if len(named) == 1 else None


def _word(name: str) -> str:
    """A name as a pattern: CJK names match anywhere, Latin ones as whole words."""
    escaped = re.escape(name)
    return rf"\b{escaped}\b" if name.isascii() else escaped
