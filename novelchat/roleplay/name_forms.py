"""The shape of a character's name: a Chinese surname with a given name (钱满仓) or a role noun (钱掌柜, 孙行者, 何伯,
老何), an English title with a given name and surname (Captain Wentworth, Sir Walter, Anne Elliot).

Pure functions over one name; what the book says about names (which occur, who speaks) is
:mod:`novelchat.roleplay.name_finder`, and which names are one character is :mod:`novelchat.roleplay.grouping`."""

from __future__ import annotations

import re
from dataclasses import dataclass

# Single surnames as novels use them (猪八戒, 沙僧 included), and the compound ones.
SURNAMES = set(
    "赵钱孙李周吴郑王冯陈褚卫蒋沈韩杨朱秦尤许何吕施张孔曹严华金魏陶姜戚谢邹喻柏水窦章云苏潘葛奚范彭郎鲁韦昌马苗"
    "凤花方俞任袁柳鲍史唐费廉岑薛雷贺倪汤滕殷罗毕郝邬安常乐于时傅皮卞齐康伍余元卜顾孟平黄和穆萧尹姚邵湛汪祁毛禹"
    "狄米贝明臧计伏成戴宋茅庞熊纪舒屈项祝董梁杜阮蓝闵席季麻强贾路娄危江童颜郭梅盛林刁钟徐邱骆高夏蔡田樊胡凌霍虞"
    "万支柯管卢莫房解应丁宣邓郁单杭洪包诸左石崔吉龚程邢裴陆荣翁荀羊甄曲家封储靳焦牧山谷车侯伊宁仇甘武刘景詹龙叶"
    "黎白蒲邰从鄂索咸赖卓蔺屠蒙池乔阴胥苍双闻党翟谭贡劳姬申扶冉宰雍桑寿通边燕冀浦尚农温庄晏柴瞿阎慕连习艾鱼容向古"
    "易廖终居衡步都耿满弘匡国文寇广禄东欧沃利蔚越隆师巩聂晁勾敖融冷辛阚那简饶空曾沙养鞠须丰巢关蒯相查后荆红游竺"
    "权盖益桓公猪")
COMPOUND_SURNAMES = ("欧阳", "司马", "上官", "诸葛", "东方", "皇甫", "尉迟", "公孙", "慕容", "令狐", "西门", "长孙",
                     "宇文")
# Nouns of a role or kinship that follow a surname to name someone (钱掌柜, 林师傅, 孙行者, 何伯, 沙僧).
ROLES = ("掌柜", "老爷", "师傅", "师父", "先生", "县尉", "县令", "知县", "老伯", "伯伯", "伯", "大叔", "叔",
         "大娘", "姑娘", "小姐", "公子", "大人", "员外", "太太", "奶奶", "婆婆", "婆", "嫂子", "嫂", "大哥", "二哥",
         "娘子", "夫人", "行者", "大圣", "和尚", "长老", "僧", "道士", "道长", "太公", "相公", "官人", "都头", "捕头",
         "大郎", "二郎", "姐姐", "妹妹", "丫头", "老")
EN_TITLES = ("Mr", "Mrs", "Miss", "Ms", "Sir", "Lady", "Lord", "Captain", "Admiral", "Colonel", "General", "Major",
             "Dr", "Doctor", "Madame", "Lieutenant", "Reverend")
EN_MALE_RANKS = ("Captain", "Admiral", "Colonel", "General", "Major", "Lieutenant")  # one of a family, usually
_EN_NAME = re.compile(rf"^(?:(?P<title>{'|'.join(EN_TITLES)})\.?\s+)?(?P<first>[A-Z][a-z]+)"
                      r"(?:\s+(?P<last>[A-Z][a-z]+))?$")


@dataclass(frozen=True)
class NameForm:
    """A name taken apart: ``family`` (surname), ``given``, ``role`` (a role noun or an English title); "" for none."""

    name: str
    family: str = ""
    given: str = ""
    role: str = ""

    @property
    def full(self) -> bool:
        """A surname with a given name and nothing else (钱满仓, Anne Elliot): what a role form may stand for."""
        return bool(self.family and self.given and not self.role)


def surname(name: str) -> str:
    """The surname a Chinese name starts with, or ""."""
    if name[:2] in COMPOUND_SURNAMES and len(name) > 2:
        return name[:2]
    return name[0] if name and name[0] in SURNAMES and len(name) > 1 else ""


def form(name: str) -> NameForm:
    """``name`` taken apart (Chinese or English)."""
    if name.isascii():
        return _english(name)
    if len(name) == 2 and name[0] == "老" and name[1] in SURNAMES:
        return NameForm(name, family=name[1], role="老")  # 老何, 老沈
    family = surname(name)
    rest = name[len(family):]
    if not family or not rest:
        return NameForm(name)
    if rest in ROLES:
        return NameForm(name, family=family, role=rest)
    return NameForm(name, family=family, given=rest) if len(name) <= 4 else NameForm(name)


def _english(name: str) -> NameForm:
    found = _EN_NAME.match(name)
    if found is None:
        return NameForm(name)
    title, first, last = found.group("title") or "", found.group("first"), found.group("last") or ""
    if title:  # Captain Wentworth (a surname), Sir Walter (a given name), Sir Walter Elliot (both)
        if last:
            return NameForm(name, family=last, given=first, role=title)
        return NameForm(name, given=first, role=title) if title == "Sir" else NameForm(name, family=first, role=title)
    return NameForm(name, family=last, given=first) if last else NameForm(name, given=first)

