"""Translating a reply sentence by sentence before it is voiced, following a persona's rules (LCEL chain)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_core.output_parsers import StrOutputParser
from langchain_core.prompts import ChatPromptTemplate
from langchain_core.runnables import Runnable, RunnablePassthrough

LANG_NAMES = {"zh": "中文", "ja": "日语", "en": "英语", "yue": "粤语"}

TRANSLATE_PROMPT = ChatPromptTemplate.from_messages(
    [
        (
            "system",
            "你是角色配音的译者。把用户给出的一句角色台词译成{target}，供语音合成朗读。\n"
            "只输出译文本身：不要解释，不要注音，不要加引号。\n"
            "保持角色的语气和说话风格：{style}\n"
            "以下词语必须这样译（原文 → 译文）：\n{substitutions}",
        ),
        ("human", "{text}"),
    ]
)


def translation_chain(chat_model: BaseChatModel, rules: Mapping[str, Any]) -> Runnable[str, str]:
    """LCEL chain: a line → the line in ``rules["target_lang"]``, following the persona's rules.

    ``rules`` is a card's ``{"target_lang": "ja", "substitutions": {"咱": "わっち"}, "style": "..."}``.
    """
    target = rules.get("target_lang", "ja")
    subs = rules.get("substitutions") or {}
    prompt = TRANSLATE_PROMPT.partial(
        target=LANG_NAMES.get(target, target),
        style=rules.get("style") or "与原文一致",
        substitutions="\n".join(f"{src} → {dst}" for src, dst in subs.items()) or "（无）",
    )
    return {"text": RunnablePassthrough()} | prompt | chat_model | StrOutputParser()
