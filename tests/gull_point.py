"""The English story (tests/data/The Lamp at Gull Point.txt) as the model tests use it: its title, the whole-book
scope, Marta's card, and what a reader must never see in a reply."""

from __future__ import annotations

import re

from novelchat.retrieval.scope import Scope

BOOK = "The Lamp at Gull Point"
WHOLE = Scope.whole([BOOK])
MARTA = {
    "spec": "chara_card_v2",
    "data": {
        "name": "Marta Quill",
        "description": "Marta Quill, thirty-four, keeps the lighthouse on Gull Point on the island of Harrowmere. "
        "She lives in the keeper's cottage with her three-legged dog Biscuit.",
        "personality": "Practical, brave, dry-humoured, fond of her dog and her brother Elias.",
        "scenario": "A windy evening at the foot of the lighthouse; a visitor has come up the path.",
        "first_mes": "",  # so the greeting is the model's
        "mes_example": "",
        "extensions": {
            "novelchat": {
                "book": BOOK,
                "aliases": ["Marta"],
                "speech_rules": ["Speaks plainly, in short sentences, in English"],
            }
        },
    },
}
ROLE_LABEL = re.compile(r"(?im)^\W*(user|assistant|human|system|ai|reader)\s*:")


def clean(text: str) -> bool:
    """What a reader must never see: chat-template tokens, role labels, a traceback."""
    return not any(mark in text for mark in ("<|im_", "<|endoftext|>", "Traceback")) and not ROLE_LABEL.search(text)
