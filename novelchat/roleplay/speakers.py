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
(old texts mix “…" and "…”); English tags (``said Tom``, ``Anne replied``, ``cried Mrs. Smith``) are read too.
The quotes are found by :mod:`~novelchat.roleplay.quotes`, the words of a tag are
:mod:`~novelchat.roleplay.speech_tags`, turn-taking is :mod:`~novelchat.roleplay.turns`.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Sequence

from novelchat.roleplay import speech_tags as tags
from novelchat.roleplay.quotes import CLOSERS, Quote, blank_quotes, find_quotes, inside
from novelchat.roleplay.turns import take_turns
from novelchat.text.hanzi import simplified
from novelchat.text.language import unwrapped
from novelchat.text.sentences import SENTENCE_END

TAIL = 16  # how far before its closing speech verb a clause's subject may stand (…怎禁猪八戒气不忿在旁漏八分儿唆嘴道：)
OFTEN = 3  # someone not in the cast who has this many tags of their own stops a search past them
LONG = 12  # a clause longer than this is likely unpunctuated: a name near its speech verb goes before its head


def attribute(text: str, characters: Iterable[Sequence[str]]) -> list[Quote]:
    """Every quote of ``text`` with its speaker: the canonical name (first of a character's names) or None.

    Text and names are read in simplified characters (a 繁體 book, a card in 简体); the quotes keep the book's own.
    Hard-wrapped English is read a paragraph a line (its quotes' words have a space where a line ended).
    """
    text = unwrapped(text)
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
        self.tag_count = Counter(tags.DISCOVER.findall(text)) if self.canonical else Counter()
        for name in self.tag_count:  # someone else's tags: 王婆笑道：, 那人说，
            if tags.NOT_A_NAME.isdisjoint((name[0], name[-1])) and tags.NO_NAME_IN.isdisjoint(name) and not any(
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
            take_turns(self.text, self.spans, self.line_starts, self.speakers, self._called)
        return [Quote(start, end, inside(self.text, start, end), speaker or None)
                for (start, end), speaker in zip(self.spans, self.speakers, strict=True)]

    # --- the text around a quote ------------------------------------------------------------------------------
    def _same_line(self, i: int, j: int) -> bool:
        return 0 <= i < len(self.spans) and 0 <= j < len(self.spans) and self.line_starts[i] == self.line_starts[j]

    def _opens_line(self, i: int) -> bool:
        return not self.text[self.line_starts[i]: self.spans[i][0]].strip()

    def _before(self, i: int) -> str:
        """The narration between the previous quote of the line (or the line's start) and quote i."""
        start = self.spans[i - 1][1] if self._same_line(i - 1, i) else self.line_starts[i]
        piece = self.text[start: self.spans[i][0]].rstrip().rstrip(CLOSERS)
        lost = max(piece.rfind(c) for c in CLOSERS)  # the end of a quote whose opening mark is missing
        return piece[lost + 1:].strip()

    def _after(self, i: int) -> str:
        """The narration between quote i and the next quote of the line (or the line's end)."""
        end = self.spans[i + 1][0] if self._same_line(i, i + 1) else self.text.find("\n", self.spans[i][1])
        return self.text[self.spans[i][1]: end if end >= 0 else len(self.text)]

    def _previous_line(self, i: int) -> str:
        """The last non-blank line before quote i's line."""
        head = self.text[: self.line_starts[i]].rstrip()
        return head[head.rfind("\n") + 1:]

    # --- tags ---------------------------------------------------------------------------------------------------
    def _tagged(self, i: int) -> str | None:
        """The speaker a tag gives quote i: before it, splitting it from the previous quote, or after it."""
        before = self._before(i)
        if not before and not self._same_line(i - 1, i) and self._opens_line(i):
            previous = blank_quotes(self._previous_line(i)).rsplit("|", 1)[-1].strip()
            before = previous if tags.INTRO.search(previous) else ""  # 唐僧道：⏎“寻甚人？”
        english = tags.en_tag_before(before)
        if english is not None:  # Anne said, "…" / "…," said Anne, "…"
            return self._english_speaker(english)
        if tags.INTRO.search(before):
            return self._subject(tags.INTRO.sub("", before), i)
        if self._same_line(i - 1, i) and before.endswith(("，", ",")):
            tag = self._tag_after(before, i - 1, split=True)
            if tag is not None:  # “…，”X道，“…” / “…”他顿了顿，“…”: both halves are one speaker's
                return tag
        # Narration ending a sentence names its one subject (not after a ".": the rule is tuned on Chinese, not English)
        ends = bool(before) and before[-1] != "." and SENTENCE_END.match(before, len(before) - 1) is not None
        if ends and not self._same_line(i - 1, i):
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
        sentence = SENTENCE_END.split(after, 1)[0]
        english = tags.en_tag_after(after)
        if english is not None:  # "…," said Anne / "…," Mrs. Smith cried
            return self._english_speaker(english)
        clause = tags.CLAUSE_END.split(sentence, 1)[0]
        if after[len(clause): len(clause) + 1] in ("：", ":") or not clause or tags.TOGETHER.search(clause):
            return None  # 」林晓一愣：「 — that colon brings the next quote
        if not (split or tags.SAYS.search(sentence) or beat):
            return None
        head = tags.PRONOUN.match(clause) or self._head(clause)
        if head is None or not split and tags.REACTS.match(clause[head.end():]) or len(self._named(clause)) > 1:
            return None
        if head.group() in ("他", "她"):
            return self._pronoun(head.group(), i, clause, follows=i)
        return self.canonical[head.group()]

    def _subject(self, tag: str, i: int) -> str | None:
        """Who speaks in the narration ``tag`` that leads to a colon: the subject of the clause next to the colon, or
        of a clause before it when those in between have none of their own (宝玉听了，笑道：); 又道：「…」 goes on
        with the previous speaker (and 宝玉想一想，果然有理．又道： with 宝玉)."""
        sentences = [s.strip() for s in SENTENCE_END.split(tag) if s.strip()]
        for number, sentence in enumerate(reversed(sentences)):
            if number and not tags.GOES_ON.match(sentences[-number]):
                break
            clauses = [c.strip() for c in tags.CLAUSE_END.split(sentence) if c.strip()]
            for place, clause in enumerate(reversed(clauses)):
                last = number == 0 and place == 0
                who = self._clause_subject(clause, last)
                if who in ("他", "她"):
                    opens = not tag[: tag.rfind(clause)].strip() and self._same_line(i - 1, i)
                    return self._pronoun(who, i, clause, follows=i - 1 if opens else None)
                if who is not None:
                    return who
                if tags.OTHER_SUBJECT.search(clause) or last and self._unknown_speaker(clause):
                    return None
        if len(sentences) == 1 and tags.GOES_ON.match(tag.strip()) and not self.names.search(tag) and self._same_line(
                i - 1, i):
            return self.speakers[i - 1]
        return None

    def _unknown_speaker(self, clause: str) -> bool:
        """Whether a clause ending in a speech verb starts with a short name that is not a character's (王婆笑道)."""
        verb = tags.SAYS_AT_END.search(clause)
        if verb is None or not 0 < verb.start() <= 4 or clause[0] in tags.NOT_A_NAME:
            return False
        return not self.names.search(clause, 0, verb.start())  # 按着宝玉笑道: a name is there, spoken to

    def _head(self, clause: str) -> re.Match | None:
        """The name at the head of a clause (after at most a lead such as 那, 只见, 还是), if any."""
        found = self.names.search(clause)
        if found is None or clause[found.end(): found.end() + 1] in ("之", "被"):
            return None  # 袭人之母, 武大被这妇人赶出去
        lead = clause[: found.start()]
        return found if not lead or tags.LEAD.fullmatch(lead) else None

    def _clause_subject(self, clause: str, last: bool) -> str | None:
        """The character who is the subject of a clause (X道 / X笑道 right before the colon first, then the head of
        the clause, then a name not far before the closing speech verb), or 他/她."""
        if tags.PRONOUN.match(clause):
            return clause[0]
        verb = tags.SAYS_AT_END.search(clause) if last else None
        candidates = list(self.names.finditer(clause, 0, verb.start())) if verb else []
        near = [m for m in candidates if self._acting(clause, m, verb) and (m.end() == verb.start() or verb.start()
                - m.end() <= TAIL and (self.canonical[m.group()] or self.tag_count[m.group()] >= OFTEN))]
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
        if clause[found.end(): found.end() + 1] in ("的", "之") or tags.OBJECT_BEFORE.search(clause, 0, found.start()):
            return False
        return found.end() == verb.start() or not tags.PLACE_BEFORE.search(clause, 0, found.start())

    def _head_subjects(self, narration: str) -> list[str]:
        """The characters at the head of the clauses of ``narration`` (names spoken to or about are left out)."""
        found = []
        for clause in tags.PIECES.split(narration):
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
        paragraph = blank_quotes(self.text[self.line_starts[i]: self.spans[i][0]])
        head = paragraph[: paragraph.rfind(clause)] if clause in paragraph else paragraph
        if not head.strip() or head.lstrip("| ").startswith(pronoun) and not self._fitting(head, pronoun):
            previous = self._previous_line(i)
            if tags.SPEECH_ENDS.search(previous):  # a speech: the turn changes there
                return None
            head = blank_quotes(previous)
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
            narration = blank_quotes(line)
            named = self._named(narration)
            if len(named) == 1 and "" not in named:
                tally = counts.setdefault(named.pop(), Counter())
                tally.update({g: len(p.findall(narration)) for g, p in tags.SUBJECT_PRONOUN.items()})
        genders = {"": ""}  # never empty: the text uses 她
        for who, tally in counts.items():
            if tally["f"] >= max(2, 2 * tally["m"]):
                genders[who] = "f"
            elif tally["m"] >= max(2, 2 * tally["f"]):
                genders[who] = "m"
        return genders

    # --- turns ----------------------------------------------------------------------------------------------------
    def _called(self, i: int) -> str | None:
        """The character quote i opens by calling (“晓丫头，…”), if any."""
        words = inside(self.text, *self.spans[i])
        found = self.names.match(words)
        if found and words[found.end(): found.end() + 1] in ("，", ",", "！", "!"):
            return self.canonical[found.group()]
        return None

    def _english_speaker(self, clause: str) -> str | None:
        """``said the brother`` / ``Tom asked`` → the one character named there (not ``said to Tom``, nor ``Tom's``)."""
        named = {self.canonical[m.group()] for m in self.names.finditer(clause)
                 if not tags.EN_TO.search(clause[: m.start()]) and clause[m.end(): m.end() + 2] not in ("'s", "’s")}
        return named.pop() if len(named) == 1 else None


def _word(name: str) -> str:
    """A name as a pattern: CJK names match anywhere, Latin ones as whole words."""
    escaped = re.escape(name)
    return rf"\b{escaped}\b" if name.isascii() else escaped
