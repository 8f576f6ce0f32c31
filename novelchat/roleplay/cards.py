"""Persona cards in ``characters/``: SillyTavern Character Cards (V1, V2, V3) as JSON files, or as the PNG images
SillyTavern and card sites share (the card is base64 JSON in the PNG's ``chara``/``ccv3`` text chunk; the picture
becomes the character's avatar in the chat).

Besides the V1 fields, a card's ``system_prompt``, ``post_history_instructions`` and lorebook (``character_book``:
entries join the prompt when the conversation mentions one of their keys) are honoured.
NovelChat's own fields live in ``data.extensions.novelchat``: ``book``, ``aliases``, ``speech_rules``,
``voice``, ``translate`` and ``drafted_to`` (the last chapter a card NovelChat drafted from the book draws on).
Cards without them (brought from SillyTavern) work too.
"""

from __future__ import annotations

import base64
import json
import logging
import struct
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Annotated, Any

from PIL import Image
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError, model_validator

from novelchat.errors import NovelChatError
from novelchat.text.hanzi import simplified

log = logging.getLogger(__name__)

CHARACTERS_DIR = Path(__file__).resolve().parents[2] / "characters"


LORE_BUDGET_CHARS = 1500  # the most lorebook text one prompt carries
MAX_CARD_PIXELS = 4096 * 4096  # a card picture larger than this is refused before it is decoded
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


class CardError(NovelChatError, ValueError):
    """A file that is not a usable character card; ``friendly`` says why in one line."""


@dataclass
class LoreEntry:
    """One entry of a card's lorebook (``character_book``): text that joins the prompt when a key is mentioned."""

    keys: list[str]
    content: str
    constant: bool = False  # always in the prompt
    order: int = 0  # SillyTavern's insertion_order: lower first

    def triggered_by(self, text: str) -> bool:
        """Whether ``text`` (lower-case, simplified characters) mentions a key (燈鋪 and 灯铺 alike)."""
        return self.constant or any(key and simplified(key).lower() in text for key in self.keys)


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
    drafted_to: int | None = None  # a card drafted from the book: the last chapter its text draws on

    @property
    def names(self) -> list[str]:
        """The name and every alias, as the book may write them."""
        return [self.name, *self.aliases]

    def lore_for(self, texts: list[str]) -> list[str]:
        """The lorebook entries the recent conversation mentions (and the constant ones), within the budget."""
        seen = simplified("\n".join(texts)).lower()
        chosen, used = [], 0
        for entry in sorted(self.lore, key=lambda e: e.order):
            if entry.triggered_by(seen) and used + len(entry.content) <= LORE_BUDGET_CHARS:
                chosen.append(self.fill(entry.content))
                used += len(entry.content)
        return chosen

    def as_read_to(self, chapter: int | None) -> Persona:
        """The card for a reader who has read to ``chapter`` (None: the whole book). A card drafted from later
        chapters keeps its name, aliases, voice and picture; its description, greeting, examples, rules and lorebook
        (written from those chapters) are left out. A hand-written card is the author's, and is kept whole."""
        if self.drafted_to is None or chapter is None or self.drafted_to <= chapter:
            return self
        return replace(self, description=f"《{self.book}》中的人物{self.name}。", personality="",
                       scenario=f"读者在《{self.book}》的故事里遇见了{self.name}。", first_mes="", mes_example="",
                       speech_rules=[], lore=[], system_prompt="", post_history_instructions="")

    def opening(self) -> str:
        """What the character says first: the card's ``first_mes``, or a silent look when the card has none."""
        return self.fill(self.first_mes) or f"（{self.name}看向你。）"

    def fill(self, text: str, user: str = "你") -> str:
        """Replace SillyTavern's ``{{char}}``/``{{user}}`` macros."""
        return text.replace("{{char}}", self.name).replace("{{user}}", user).replace("<USER>", user)


class _Lenient(BaseModel):
    """Fields a card leaves null take their defaults (SillyTavern writes null for empty fields)."""

    @model_validator(mode="before")
    @classmethod
    def _drop_nulls(cls, value: Any) -> Any:
        return {k: v for k, v in value.items() if v is not None} if isinstance(value, dict) else value


def _one_as_list(value: Any) -> Any:
    """One string stands for a one-item list (``"aliases": "阿甲"`` is one alias, not three characters)."""
    return [value] if isinstance(value, str) else value


Texts = Annotated[list[str], BeforeValidator(_one_as_list)]


class _NovelChatFields(_Lenient):
    book: str = ""
    aliases: Texts = []
    speech_rules: Texts = []
    voice: dict = {}
    translate: dict | None = None
    drafted_to: Annotated[int, Field(ge=0)] | None = None


class _Extensions(_Lenient):
    novelchat: _NovelChatFields = _NovelChatFields()


class _LoreFields(_Lenient):
    model_config = ConfigDict(coerce_numbers_to_str=True)  # a key written as a number (1984) is still a key

    keys: Texts = []
    content: str = ""
    enabled: bool = True
    constant: bool = False
    insertion_order: int = 0


class _LoreBook(_Lenient):
    entries: list[_LoreFields] = []


class CardFields(_Lenient):
    """The card fields NovelChat reads, validated: a V1 card, or the ``data`` of a V2/V3 card."""

    name: Annotated[str, Field(min_length=1)]
    description: str = ""
    personality: str = ""
    scenario: str = ""
    first_mes: str = ""
    mes_example: str = ""
    system_prompt: str = ""
    post_history_instructions: str = ""
    extensions: _Extensions = _Extensions()
    character_book: _LoreBook = _LoreBook()


def _card_data(raw: Any) -> Any:
    """The fields of a V2/V3 card (under ``data``) or of a V1 card (at the top level)."""
    if isinstance(raw, dict) and raw.get("spec") in ("chara_card_v2", "chara_card_v3"):
        return raw.get("data")
    return raw


def _first_problem(error: ValidationError) -> str:
    """A validation error in one line: where the first problem is, what it is, and how many more there are."""
    problem = error.errors()[0]
    where = ".".join(str(part) for part in problem["loc"]) or "card"
    more = f" (+{error.error_count() - 1} more)" if error.error_count() > 1 else ""
    return f"{where}: {problem['msg']}{more}"


def parse_card(raw: Any, source: str = "") -> Persona:
    """A Persona from a V2/V3 or V1 card; a CardError (one line) when the card is not valid."""
    try:
        card = CardFields.model_validate(_card_data(raw))
    except ValidationError as error:
        raise CardError(f"不是有效的角色卡 / not a valid character card: {_first_problem(error)}") from None
    own = card.extensions.novelchat
    return Persona(
        name=card.name, description=card.description, personality=card.personality, scenario=card.scenario,
        first_mes=card.first_mes, mes_example=card.mes_example, book=own.book, aliases=own.aliases,
        speech_rules=own.speech_rules, voice=own.voice, translate=own.translate, source=source,
        drafted_to=own.drafted_to,
        system_prompt=card.system_prompt, post_history_instructions=card.post_history_instructions,
        lore=[LoreEntry(keys=entry.keys, content=entry.content, constant=entry.constant, order=entry.insertion_order)
              for entry in card.character_book.entries if entry.enabled and entry.content],
    )


def png_size(path: Path) -> tuple[int, int]:
    """A PNG's width and height, from its IHDR header (nothing decoded); CardError if it is not a PNG."""
    with path.open("rb") as handle:
        head = handle.read(24)
    if head[:8] != PNG_SIGNATURE or head[12:16] != b"IHDR":
        raise CardError("不是 PNG 图片 / not a PNG picture")
    return struct.unpack(">II", head[16:24])


def read_png_card(path: Path) -> dict:
    """The card JSON inside a PNG character card (``ccv3`` preferred over ``chara``).

    The picture's size is checked from its header before any pixel is decoded: a huge one is refused.
    """
    width, height = png_size(path)
    if width * height > MAX_CARD_PIXELS:
        raise CardError(f"图片太大（{width}×{height}）/ picture too large ({width}×{height} pixels)")
    with Image.open(path, formats=["PNG"]) as image:
        chunks = dict(getattr(image, "text", {}))
    encoded = chunks.get("ccv3") or chunks.get("chara")
    if not encoded:
        raise CardError(f"图片里没有角色卡数据 / no character card inside this PNG: {path.name}")
    return json.loads(base64.b64decode(encoded).decode("utf-8"))


def read_card(path: Path) -> Persona:
    """One card file (.json or .png) as a Persona; CardError (or another ValueError, or OSError: bad JSON or base64,
    an unreadable file) when it cannot be one."""
    if not path.is_file():  # a FIFO would block the reader, a directory cannot be read
        raise CardError("不是普通文件 / not a regular file")
    if path.suffix == ".png":
        persona = parse_card(read_png_card(path), path.name)
        persona.avatar = str(path)
        return persona
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except RecursionError:
        raise CardError("JSON 嵌套太深 / JSON nested too deeply") from None
    return parse_card(raw, path.name)


def load_personas(folder: Path = CHARACTERS_DIR) -> list[Persona]:
    """Every readable card in the folder (.json, .png), by name; a file that is not one is skipped with a warning."""
    personas = []
    for path in sorted([*folder.glob("*.json"), *folder.glob("*.png")]):
        try:
            personas.append(read_card(path))
        except (ValueError, OSError) as error:  # not a card, bad JSON or base64, not an image, unreadable file
            log.warning("角色卡读取失败，已跳过 / skipped unreadable character card %s: %s", path.name, error)
    return sorted(personas, key=lambda p: p.name)
