"""A local model's reply cannot loop: no run of n tokens twice in the reply, and a repetition penalty on its words,
both counted over the reply only, so the prompt's passages can still be quoted and numbers stay whole."""

from __future__ import annotations

import torch

from novelchat.models.generation import NoRepeatInReply, banned_next, reply_processors, wordless_ids


def test_the_token_that_would_repeat_a_run_is_banned():
    assert banned_next([5, 6, 7, 5, 6], 3) == {7}  # 5 6 7 again
    assert banned_next([5, 6, 7, 5, 6, 9, 5, 6], 3) == {7, 9}
    assert banned_next([5, 6, 7, 8], 3) == set()
    assert banned_next([5, 6], 3) == set() and banned_next([5, 6, 5], 0) == set()


def test_the_prompt_does_not_count():
    prompt = [1, 2, 3, 4]  # "1 2 3" in the prompt: the reply may quote it
    scores = torch.zeros(1, 10)
    out = NoRepeatInReply(3, len(prompt))(torch.tensor([prompt + [1, 2]]), scores.clone())
    assert torch.isfinite(out).all()
    out = NoRepeatInReply(3, len(prompt))(torch.tensor([prompt + [1, 2, 3, 1, 2]]), scores.clone())
    assert out[0, 3] == float("-inf") and torch.isfinite(out[0, [0, 1, 2, 4, 5]]).all()


def test_digits_and_marks_are_never_penalised():
    vocab = {"Ġthe": 0, "1": 1, "Ġ1": 2, ".": 3, "▁林": 4, "ing": 5, "Ġ": 6, "，": 7}
    assert wordless_ids(vocab) == [1, 2, 3, 6, 7]


def test_the_processors_follow_the_settings():
    assert len(reply_processors(4, 1.0, 0, [])) == 0
    processors = reply_processors(4, 1.2, 6, exempt=[2])
    assert len(processors) == 2
    ids = torch.tensor([[7, 7, 7, 7, 3, 2, 11]])  # 7 only in the prompt; 3 and 2 in the reply, 2 a digit; 11 past
    scores = processors(ids, torch.ones(1, 10))    # the model's vocabulary (an added token) is no trouble
    assert scores[0, 3] < 1 and scores[0, 7] == 1 and scores[0, 2] == 1
    assert torch.isfinite(scores).all() and scores.shape == (1, 10)
