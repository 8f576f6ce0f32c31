"""Persona cards: SillyTavern Character Card V2 (or V1) JSON files in ``characters/``.

NovelChat's own fields live in ``data.extensions.novelchat``: ``book``, ``aliases``, ``speech_rules``,
``voice`` and ``translate``. Cards without them (brought from SillyTavern) work too.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

CHARACTERS_DIR = Path(__file__).resolve().parent / "characters"


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

    @property
    def names(self) -> list[str]:
        """The name and every alias, as the book may write them."""
        return [self.name, *self.aliases]

    def fill(self, text: str, user: str = "你") -> str:
        """Replace SillyTavern's ``{{char}}``/``{{user}}`` macros."""
        return text.replace("{{char}}", self.name).replace("{{user}}", user).replace("<USER>", user)


def parse_card(raw: dict, source: str = "") -> Persona:
    """A Persona from a V2 card (fields under ``data``) or a V1 card (fields at the top level)."""
    data = raw.get("data", raw) if raw.get("spec") == "chara_card_v2" else raw
    if not data.get("name"):
        raise ValueError(f"角色卡缺少 name 字段 / character card without a name: {source}")
    own = (data.get("extensions") or {}).get("novelchat") or {}
    return Persona(
        name=data["name"], description=data.get("description", ""), personality=data.get("personality", ""),
        scenario=data.get("scenario", ""), first_mes=data.get("first_mes", ""),
        mes_example=data.get("mes_example", ""), book=own.get("book", ""), aliases=list(own.get("aliases", [])),
        speech_rules=list(own.get("speech_rules", [])), voice=dict(own.get("voice") or {}),
        translate=own.get("translate"), source=source,
    )


def load_personas(folder: Path = CHARACTERS_DIR) -> list[Persona]:
    """Every readable card in the folder, by name; unreadable files are skipped."""
    personas = []
    for path in sorted(folder.glob("*.json")):
        try:
            personas.append(parse_card(json.loads(path.read_text(encoding="utf-8")), path.name))
        except (ValueError, OSError):
            continue
    return sorted(personas, key=lambda p: p.name)
