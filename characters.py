"""Persona cards in ``characters/``: SillyTavern Character Cards (V1, V2, V3) as JSON files, or as the PNG images
SillyTavern and card sites share (the card is base64 JSON in the PNG's ``chara``/``ccv3`` text chunk; the picture
becomes the character's avatar in the chat).

Besides the V1 fields, a card's ``system_prompt``, ``post_history_instructions`` and lorebook (``character_book``:
entries join the prompt when the conversation mentions one of their keys) are honoured.
NovelChat's own fields live in ``data.extensions.novelchat``: ``book``, ``aliases``, ``speech_rules``,
``voice`` and ``translate``. Cards without them (brought from SillyTavern) work too.
"""

from __future__ import annotations

import base64
import json
import logging
from dataclasses import dataclass, field
from pathlib import Path

from PIL import Image

log = logging.getLogger(__name__)

CHARACTERS_DIR = Path(__file__).resolve().parent / "characters"


LORE_BUDGET_CHARS = 1500  # the most lorebook text one prompt carries


@dataclass
class LoreEntry:
    """One entry of a card's lorebook (``character_book``): text that joins the prompt when a key is mentioned."""

    keys: list[str]
    content: str
    constant: bool = False  # always in the prompt
    order: int = 0  # SillyTavern's insertion_order: lower first

    def triggered_by(self, text: str) -> bool:
        return self.constant or any(key and key.lower() in text for key in self.keys)


@dataclass
class Persona:
    """One character card, flattened."""

    name: str
    description: str = ""
    personality: str = ""
    scenario: str = ""
    first_mes: str = ""
    mes_example: str = ""
    book: str = ""
    aliases: list[str] = field(default_factory=list)
    speech_rules: list[str] = field(default_factory=list)
    voice: dict = field(default_factory=dict)
    translate: dict | None = None
    source: str = ""
    avatar: str = ""  # path of the card's PNG picture, if it came as one
    system_prompt: str = ""  # the card's own system prompt; ``{{original}}`` stands for NovelChat's
    post_history_instructions: str = ""
    lore: list[LoreEntry] = field(default_factory=list)

    @property
    def names(self) -> list[str]:
        """The name and every alias, as the book may write them."""
        return [self.name, *self.aliases]

    def lore_for(self, texts: list[str]) -> list[str]:
        """The lorebook entries the recent conversation mentions (and the constant ones), within the budget."""
        seen = "\n".join(texts).lower()
        chosen, used = [], 0
        for entry in sorted(self.lore, key=lambda e: e.order):
            if entry.triggered_by(seen) and used + len(entry.content) <= LORE_BUDGET_CHARS:
                chosen.append(self.fill(entry.content))
                used += len(entry.content)
        return chosen

    def opening(self) -> str:
        """What the character says first: the card's ``first_mes``, or a silent look when the card has none."""
        return self.fill(self.first_mes) or f"（{self.name}看向你。）"

    def fill(self, text: str, user: str = "你") -> str:
        """Replace SillyTavern's ``{{char}}``/``{{user}}`` macros."""
        return text.replace("{{char}}", self.name).replace("{{user}}", user).replace("<USER>", user)


def parse_card(raw: dict, source: str = "") -> Persona:
    """A Persona from a V2 card (fields under ``data``) or a V1 card (fields at the top level)."""
    data = raw.get("data", raw) if raw.get("spec") in ("chara_card_v2", "chara_card_v3") else raw
    if not data.get("name"):
        raise ValueError(f"角色卡缺少 name 字段 / character card without a name: {source}")
    own = (data.get("extensions") or {}).get("novelchat") or {}
    return Persona(
        name=data["name"], description=data.get("description", ""), personality=data.get("personality", ""),
        scenario=data.get("scenario", ""), first_mes=data.get("first_mes", ""),
        mes_example=data.get("mes_example", ""), book=own.get("book", ""), aliases=list(own.get("aliases", [])),
        speech_rules=list(own.get("speech_rules", [])), voice=dict(own.get("voice") or {}),
        translate=own.get("translate"), source=source, system_prompt=data.get("system_prompt") or "",
        post_history_instructions=data.get("post_history_instructions") or "",
        lore=[LoreEntry(keys=[str(k) for k in entry.get("keys") or []], content=entry["content"],
                        constant=bool(entry.get("constant")), order=int(entry.get("insertion_order") or 0))
              for entry in (data.get("character_book") or {}).get("entries") or []
              if entry.get("enabled", True) and entry.get("content")],
    )


def read_png_card(path: Path) -> dict:
    """The card JSON inside a PNG character card (``ccv3`` preferred over ``chara``)."""
    with Image.open(path) as image:
        chunks = dict(getattr(image, "text", {}))
    encoded = chunks.get("ccv3") or chunks.get("chara")
    if not encoded:
        raise ValueError(f"图片里没有角色卡数据 / no character card inside this PNG: {path.name}")
    return json.loads(base64.b64decode(encoded).decode("utf-8"))


def load_personas(folder: Path = CHARACTERS_DIR) -> list[Persona]:
    """Every readable card in the folder (.json, .png), by name; an unreadable file is skipped with a warning."""
    personas = []
    for path in sorted([*folder.glob("*.json"), *folder.glob("*.png")]):
        try:
            if path.suffix == ".png":
                personas.append(parse_card(read_png_card(path), path.name))
                personas[-1].avatar = str(path)
            else:
                personas.append(parse_card(json.loads(path.read_text(encoding="utf-8")), path.name))
        except (ValueError, OSError) as error:  # bad JSON or base64, not an image, unreadable file
            log.warning("角色卡读取失败，已跳过 / skipped unreadable character card %s: %s", path.name, error)
    return sorted(personas, key=lambda p: p.name)
