"""The names a book's text uses for people, found without any card: the names in its speech tags (行者道：,
钱掌柜一拍大腿, said Anne), surnames with a role noun (钱掌柜, 孙大圣), English names with a title (Captain
Wentworth) or a surname (Anne Elliot), and what its narration says someone is called (掌柜叫钱满仓, 法名叫做猪悟能).

The text is read in simplified characters (:func:`novelchat.text.hanzi.simplified`), as speaker attribution reads it."""

from __future__ import annotations

import re
from collections import Counter

from novelchat.roleplay import speech_tags as tags
from novelchat.roleplay.name_forms import COMPOUND_SURNAMES, EN_TITLES, ROLES, SURNAMES, form
from novelchat.roleplay.quotes import blank_quotes

MIN_TAGS = 2  # a Chinese name in fewer speech tags than this is left out (one-off 那厮, 我当时)
MIN_MENTIONS = 2  # a surname with a role noun, or an English name, mentioned fewer times is left out
_HAN = r"[\u4e00-\u9fff]"
_ROLE_FORM = re.compile(
    rf"(?:{'|'.join(COMPOUND_SURNAMES)}|[{''.join(sorted(SURNAMES))}])"
    rf"(?:{'|'.join(sorted((r for r in ROLES if r != '老'), key=len, reverse=True))})")  # 钱掌柜; 老 alone is too loose
_NAMING = re.compile(rf"(?P<left>{_HAN}{{2,4}}?)(?:的)?"
                     rf"(?:法名|道号|混名|绰号|诨名|名唤|名叫|叫做|唤做|叫|名为)[作为是]?"
                     rf"(?P<right>{_HAN}{{2,3}})(?=[，。、,；;！？!?\s]|$)", re.MULTILINE)
_HEAD_MARKS = set("，,。．！？!?：:；;、“”「」『』\"|\n 　")
_LEAD_END = re.compile(rf"(?:^|[{''.join(_HEAD_MARKS)}])(?:{tags.LEAD.pattern})$")
_NOT_HEAD = set("又便就也都却只这那众诸各此该本其你我他她它们等")
_EN_VERBS = r"(?:said|says|cried|replied|answered|asked|exclaimed|continued|added|returned|observed|whispered|called)"
_EN_WORD = r"[A-Z][a-z]+"
_EN_NAME = rf"(?:(?:{'|'.join(EN_TITLES)})\.?\s+)?{_EN_WORD}(?:\s+{_EN_WORD})?"
_EN_TAGS = re.compile(rf"\b{_EN_VERBS}\s+({_EN_NAME})|\b({_EN_NAME})\s+{_EN_VERBS}\b")
_EN_TITLED = re.compile(rf"\b(?:{'|'.join(EN_TITLES)})\.?\s+{_EN_WORD}(?:\s+{_EN_WORD})?")
_EN_FULL = re.compile(rf"\b{_EN_WORD}\s+{_EN_WORD}\b")


def chinese_names(text: str) -> Counter:
    """The names of Chinese speech tags (at least ``MIN_TAGS`` each), and surnames with a role noun."""
    found = Counter(name for name in tags.DISCOVER.findall(text) if _may_be_name(name))
    names = Counter({name: n for name, n in found.items() if n >= MIN_TAGS})
    for name in list(names):  # 行者暗, 唐僧喜: a name with a stray character after it
        if len(name) == 3 and found[name[:2]] >= 3 * found[name]:
            del names[name]
    known = re.compile("|".join(sorted(names, key=len, reverse=True))) if names else None
    masked = known.sub(lambda m: "□" * len(m.group()), text) if known else text  # 悟空行者 holds no 空行者
    roles = Counter(name for name in _at_heads(_ROLE_FORM, masked) if _may_be_name(name))
    names.update({name: n for name, n in roles.items() if n >= MIN_MENTIONS and name not in names})
    for given in [name for name in names if len(name) == 2 and not form(name).family]:  # 悟空 → 孙悟空, 八戒 → 猪八戒
        full = Counter(_at_heads(re.compile(rf"[{''.join(sorted(SURNAMES))}]{given}"), text))
        names.update({name: n for name, n in full.items() if n >= MIN_MENTIONS and _may_be_name(name)})
    return names


def _at_heads(pattern: re.Pattern, text: str) -> list[str]:
    """Where ``pattern`` matches at the head of a clause (after punctuation, a line start or a lead such as 那, 只见):
    孙大圣 in 。孙大圣道, never 空行者 in 悟空行者."""
    return [m.group() for m in pattern.finditer(text) if m.start() == 0 or text[m.start() - 1] in _HEAD_MARKS
            or _LEAD_END.search(text, max(0, m.start() - 8), m.start())]


def _may_be_name(name: str) -> bool:
    return name[0] not in _NOT_HEAD and name[-1] not in "们等" and tags.NO_NAME_IN.isdisjoint(name)


def namings(text: str) -> list[tuple[str, str]]:
    """What the narration says someone is called, (what they were called, the name): (掌柜, 钱满仓)."""
    pairs = []
    for line in text.split("\n"):
        narration = blank_quotes(line)
        for found in _NAMING.finditer(narration):
            left, right = found.group("left"), found.group("right")
            if not _may_be_name(right) or not form(right).full:
                continue
            role = next((r for r in ROLES if left.endswith(r) and r != "老"), "")
            pairs.append((role or left, right))
    return pairs


def english_names(text: str) -> Counter:
    """English names: those in speech tags (said Anne, Lady Russell said), and those the text writes with a title or
    as given name and surname (Captain Wentworth, Anne Elliot) at least ``MIN_MENTIONS`` times."""
    flat = re.sub(r"\s+", " ", text)
    lower = Counter(re.findall(r"\b[a-z]+\b", flat))
    tagged = Counter(a or b for a, b in _EN_TAGS.findall(flat))
    mentioned = Counter(_EN_TITLED.findall(flat)) + Counter(_EN_FULL.findall(flat))
    names: Counter = Counter()
    for name, n in [*tagged.items(), *mentioned.items()]:
        name = _trimmed(name, lower)
        if name and (name in tagged or n >= MIN_MENTIONS):
            names[name] += n
    return names


def _trimmed(name: str, lower: Counter) -> str:
    """The name without the ordinary words around it (``Then Anne`` → ``Anne``); "" when none is left."""
    words = re.sub(r"\.(?=\s)", "", name).split()
    while words and words[0] not in EN_TITLES and _ordinary(words[0], lower):
        words.pop(0)
    while words and _ordinary(words[-1], lower):
        words.pop()
    if not words or words[-1] in EN_TITLES:
        return ""
    return " ".join(words)


def _ordinary(word: str, lower: Counter) -> bool:
    """A capitalised word that is an ordinary word at a sentence's start (``Then``, ``She``), not a name."""
    return word not in EN_TITLES and lower[word.lower()] > 0 or word in ("I", "The", "A", "An")
