"""Persona cards from hostile files: each bad card is one warning line and is skipped, never a crash."""

from __future__ import annotations

import base64
import json
import logging
import os
import struct
import zlib

import pytest

from novelchat.errors import NovelChatError
from novelchat.roleplay.cards import CardError, load_personas, parse_card
from tests.hostile_files import without_blocking

GOOD = {"spec": "chara_card_v2", "data": {"name": "林晓", "first_mes": "买灯？"}}


def v2(**fields) -> dict:
    return {"spec": "chara_card_v2", "data": {"name": "甲", **fields}}


def novelchat(**fields) -> dict:
    return v2(extensions={"novelchat": fields})


def png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def huge_png_card(width: int, height: int, card: dict) -> bytes:
    """A PNG whose header says width×height (truncated pixel data), with a card in its ``chara`` chunk."""
    encoded = base64.b64encode(json.dumps(card).encode("utf-8"))
    return (b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
            + png_chunk(b"tEXt", b"chara\x00" + encoded)
            + png_chunk(b"IDAT", zlib.compress(b"\x00" * 4096)) + png_chunk(b"IEND", b""))


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b"[1, 2, 3]", "dictionary"),
        (b"null", "dictionary"),
        (b"[" * 100_000, "nested"),
        (json.dumps(novelchat(aliases=5)).encode(), "aliases"),
        (json.dumps(v2(name=12345)).encode(), "name"),
        (json.dumps(v2(character_book={"entries": ["一条字符串"]})).encode(), "entries"),
        (json.dumps({"spec": "chara_card_v2", "data": None}).encode(), "dictionary"),
    ],
    ids=["list", "null", "deep", "aliases-int", "name-int", "lore-string", "data-null"],
)
def test_a_malformed_card_is_one_warning_and_skipped(tmp_path, caplog, content, expected):
    (tmp_path / "good.json").write_text(json.dumps(GOOD, ensure_ascii=False), encoding="utf-8")
    (tmp_path / "bad.json").write_bytes(content)
    with caplog.at_level(logging.WARNING, logger="novelchat.roleplay.cards"):
        personas = load_personas(tmp_path)
    assert [p.name for p in personas] == ["林晓"]
    (record,) = caplog.records
    message = record.getMessage()
    assert "bad.json" in message and expected in message and "\n" not in message


def test_a_huge_png_is_refused_from_its_header(tmp_path, caplog):
    (tmp_path / "huge.png").write_bytes(huge_png_card(20_000, 20_000, GOOD))
    with caplog.at_level(logging.WARNING, logger="novelchat.roleplay.cards"):
        assert load_personas(tmp_path) == []
    (record,) = caplog.records
    assert "huge.png" in record.getMessage() and "20000×20000" in record.getMessage()


def test_a_fifo_is_skipped_without_blocking(tmp_path, caplog):
    os.mkfifo(tmp_path / "pipe.json")
    with caplog.at_level(logging.WARNING, logger="novelchat.roleplay.cards"):
        assert without_blocking(tmp_path / "pipe.json", load_personas, tmp_path) == []
    assert "pipe.json" in caplog.records[0].getMessage()


def test_one_alias_as_a_string_is_one_alias():
    persona = parse_card(novelchat(aliases="阿甲", speech_rules="自称咱"))
    assert persona.aliases == ["阿甲"] and persona.speech_rules == ["自称咱"]
    assert persona.names == ["甲", "阿甲"]


def test_nulls_in_a_card_read_as_empty():
    card = v2(description=None, system_prompt=None, extensions=None, character_book={"entries": [
        {"keys": None, "content": "常驻", "constant": True, "insertion_order": None, "enabled": None}]})
    persona = parse_card(card)
    assert persona.description == "" and persona.aliases == [] and persona.voice == {}
    assert [entry.content for entry in persona.lore] == ["常驻"]


def test_a_bad_card_is_a_novelchat_error_with_one_friendly_line():
    with pytest.raises(CardError) as caught:
        parse_card(v2(name=""))
    assert isinstance(caught.value, NovelChatError) and isinstance(caught.value, ValueError)  # callers catch either
    assert caught.value.friendly.startswith("不是有效的角色卡 / not a valid character card: name")
    assert "\n" not in caught.value.friendly
