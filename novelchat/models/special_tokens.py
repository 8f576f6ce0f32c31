"""Special tokens every local chat model needs: where a reply ends."""

from __future__ import annotations

from typing import Any

IM_END = "<|im_end|>"  # InternLM2's (and ChatML's) end of turn


def end_of_turn_ids(model: Any, tokenizer: Any) -> list[int]:
    """Token ids that end a reply: the model's eos ids, the tokenizer's, and InternLM2's ``<|im_end|>``."""
    configured = model.generation_config.eos_token_id
    ids = [configured] if isinstance(configured, int) else list(configured or [])
    for token in (tokenizer.eos_token, IM_END):
        token_id = tokenizer.convert_tokens_to_ids(token) if token else None
        if token_id is not None and token_id != tokenizer.unk_token_id and token_id not in ids:
            ids.append(token_id)
    return ids
