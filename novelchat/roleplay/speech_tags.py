"""The words of a speech tag (林晓道：, 何伯冷笑一声：, 」林晓说。, said Tom) as regular expressions: speech verbs and
their adverbs, what stands before a speaker's name or an addressee's, and what makes a clause someone else's.

The attribution rules that use them are in :mod:`novelchat.roleplay.speakers`."""

from __future__ import annotations

import re

from novelchat.text.sentences import sentence_ends, sentence_spans

CLAUSE_END = re.compile(r"[，,；;：:—]+")
PIECES = re.compile(r"[，,、；;：:—。．！？!?…|]+")  # clauses and sentences of narration ("|": a blanked quote)
INTRO = re.compile(r"(?:[：:]|[道说曰问叫喊嚷骂想](?:一?声)?[，,]?)\s*$")  # 林晓道： / 贾母笑道， / 叫一声
SAYS = re.compile(r"(?<![没不未别莫])(?:[道说问曰答叫喊嚷骂笑哼叹念喝吼应想补]|重复|开口|脱口)")
_ADVERB = (r"(?:[又便就也都却只忙乃遂因方才即亦且正还再仍先复]|连忙|急忙|赶忙|随即|一面|冷笑|微笑|含笑|陪笑|大笑|哈哈"
           r"|连声|低声|高声|大声|轻声|厉声|悄悄|慢慢|点头|摇头|回头|抬头|低头|不觉|不禁|忍不住)")
_VERB = r"(?:[道说问曰叫喊嚷骂答应笑叹想喝]|寻思|思量|[分吩嘱]咐|商议|告诉|埋怨|央告|哀告|自忖)+(?:[着了]|一?声)?"
SAYS_AT_END = re.compile(rf"{_ADVERB}*{_VERB}$")
# Before a name, these make it the one acted on or spoken to (看着X道, 对那X说, 问X, 报与X道, 按着X笑道, 埋怨X道).
OBJECT_BEFORE = re.compile(r"(?:(?:[看望瞧瞅盯对向朝冲问和与同跟给替叫唤请劝谢拉扯推拍指把将被见随陪骂打命教让使带领扶"
                           r"携抱迎送等求拜恨怪笑于]|告诉|[嘱吩分]咐|埋怨|[央哀]告)[着了住过到]?|[着了住过])"
                           r"(?:那个|这个|那|这)?$")
PLACE_BEFORE = re.compile(r"[到在去往从进](?:那个|这个|那|这)?$")  # 去武松房里…: a place, not a speaker
# What may stand before a name at the head of its clause: 那妇人, 只见宝钗, 还是沈墨舟, 掌柜钱满仓, 次日武松.
LEAD = re.compile(r"(?:那|这|好|只见那?|忽见|却见|但见|又见|还是|原来这?|当下|当时|此时|这时|却说|且说|话说|于是"
                  r"|唬得个|掌柜|只有|惟有|却是|正是|便是|[次当那一今]日|次早)")
# A clause that starts so (or holds 有人 or 被) has a subject of its own, not a character: the walk back stops there.
OTHER_SUBJECT = re.compile(r"^(?:[我你咱那这众]|大家|两人|二人|三人|人们|一个|一人|又一|[只忽却但又]见|只听|忽听"
                           r"|却听|自古|常言|古人|俗话|俗语|古语|古云|诗曰|有诗|正是|[^，,]{1,3}们)|有人|被")
# The first characters of a clause that is no name (…边跑边喊, 心里自想道, 随即笑道): only a clause next to the colon
# whose words before the speech verb start otherwise is taken for an unknown speaker's tag (王婆笑道, 妖精说).
NOT_A_NAME = set("便就又也都却只忙乃遂因方才即亦且正还再仍先复连急赶随竟倒偏反果真已早曾刚恰一不没未莫别自暗悄轻慢"
                 "大高厉忍顿过半好边二笑哭叹喝骂嚷叫喊问答应劝说道看望瞧听见走跑跳站坐起拿把将向对朝和与同跟给冷微含陪"
                 "苦低抬转拱点摇伸扶拉推拍指接递放端提抱咬皱叉蹲跪扭捧吸吐磕伏回来去出进上下打取掏撕踩抓拽捡揣摸握扯喘"
                 "叼擦吹嗤呸咂吧哼唤想思念收解挂穿脱撑爬滚咧乐嘿哈满脸面眼嘴口心手头声目眉神在用以忽寻分依左跌发按诧嘱"
                 "商称赞夸告埋央哀禀忖")
GOES_ON = re.compile(r"^(?:说着|说毕|一面|一边|接着|随即|[又便因乃遂复却忙笑说道问](?!一))")  # 又道, 说着又问
REACTS = re.compile(r"^[也却只便都又]?(?:听|闻|一愣|一怔|愣|怔|呆|没|不|未|哽)")  # 」林晓没有说话。 / 」宝玉听了
NO_NAME_IN = set("有的了着是我你他她咱些其")  # a tag's "name" holding one of these is no name (有人道, 他的道)
# Someone's tag (王婆笑道：, 那人说，): the 2–3 characters before a speech verb at the head of a clause.
DISCOVER = re.compile(rf"(?:^|(?<=[，,。．！？!?：:；;”」』\"|\s]))(?:{LEAD.pattern})?([\u4e00-\u9fff]{{2,3}}?)"
                      rf"{_ADVERB}*{_VERB}[：:，,]", re.MULTILINE)
TOGETHER = re.compile(r"齐声|异口同声|一齐|同声|都道")
PRONOUN = re.compile(r"^[他她](?![们人])")
SUBJECT_PRONOUN = {gender: re.compile(rf"(?:^|[，,。．！？!?；;：:、|\s]){pronoun}(?![们人])")
                   for gender, pronoun in (("f", "她"), ("m", "他"))}
SPEECH_ENDS = re.compile(r"[。！？!?…—][”」』\"]")  # a quote's last words end here: the turn changes
# English tags: "…," said Anne / "…," Anne replied / "…!" cried Mrs. Smith / Anne said, "…" / said Anne. "…"
_EN_VERB = (r"said|says|asked|asks|cried|cries|replied|replies|answered|answers|called|shouted|whispered|exclaimed"
            r"|added|continued|repeated|observed|rejoined|pursued|resumed|returned|remarked|murmured|muttered|began"
            r"|interrupted|inquired|enquired|retorted|urged|pleaded|sighed|screamed|admitted|declared|insisted"
            r"|explained|protested|laughed|begged|demanded|went on")
EN_SAYS = re.compile(rf"\b(?:{_EN_VERB})\b(?! nothing)")
EN_TO = re.compile(r"\b(?:to|at|of|with|for|from)\s+(?:the\s+)?$")  # said to Anne: Anne is spoken to
EN_CLAUSE_END = re.compile(r"[,;:!?—]")  # …" said Tom, smiling — where the words naming its speaker end
EN_NEAR = 4  # at most this many words before the speech verb of a tag after a quote (…" Mrs. Smith quietly said)


def en_tag_after(after: str) -> str | None:
    """The words of an English tag right after a quote that name its speaker (``said Anne``, ``Mrs. Smith cried``),
    or None when the narration there is no tag."""
    head = after.lstrip()
    ends = sentence_ends(head)
    clause = EN_CLAUSE_END.split(head[: ends[0]] if ends else head, maxsplit=1)[0]
    verb = EN_SAYS.search(clause)
    return clause if verb is not None and len(clause[: verb.start()].split()) <= EN_NEAR else None


def en_tag_before(before: str) -> str | None:
    """The words of an English tag right before a quote, or None: its last sentence when that leads to the quote
    (``Anne said,``; ``Anne, after a pause, replied:``) or is a tag alone (a split quote's ``said Anne.``)."""
    spans = sentence_spans(before.rstrip())
    if not spans:
        return None
    sentence = before[slice(*spans[-1])].strip()
    if sentence.endswith((",", ":")):
        return sentence if EN_SAYS.search(sentence) else None
    clause = en_tag_after(sentence)
    return clause if clause is not None and len(clause.split()) <= EN_NEAR else None
