"""Generation that ends: a local model's reply kept from looping by a repetition penalty and no n-gram twice, both
counted over the reply's own tokens only, so the passages in the prompt may still be quoted. The penalty weighs
words only: a digit or a mark repeats in any good reply (112 steps, 1871), and penalising it changes the number."""

from __future__ import annotations

from typing import Any

SPACE_MARKS = ("Ġ", "▁")  # how byte-level BPE and sentencepiece write a leading space in a token


def banned_next(ids: list[int], size: int) -> set[int]:
    """The tokens that, coming next after ``ids``, would repeat a run of ``size`` tokens already in ``ids``."""
    if size <= 0 or len(ids) < size:
        return set()
    tail = ids[len(ids) - size + 1:]
    return {ids[i + size - 1] for i in range(len(ids) - size + 1) if ids[i: i + size - 1] == tail}


def wordless_ids(vocab: dict[str, int]) -> list[int]:
    """The ids of the tokens with no letter of any script (digits, marks, spaces): the penalty leaves them alone."""
    def wordless(token: str) -> bool:
        for mark in SPACE_MARKS:
            token = token.replace(mark, "")
        return not any(ch.isalpha() for ch in token)

    return sorted(i for token, i in vocab.items() if wordless(token))


class NoRepeatInReply:
    """A logits processor: no run of ``size`` tokens twice in the reply (the first ``prompt_length`` ids are the
    prompt's and do not count, unlike ``transformers``' own ``no_repeat_ngram_size``)."""

    def __init__(self, size: int, prompt_length: int) -> None:
        self.size = size
        self.prompt_length = prompt_length

    def __call__(self, input_ids: Any, scores: Any) -> Any:
        for row, ids in enumerate(input_ids[:, self.prompt_length:].tolist()):
            banned = sorted(banned_next(ids, self.size))
            if banned:
                scores[row, banned] = float("-inf")
        return scores


class ReplyRepetitionPenalty:
    """A logits processor: each word token already in the reply is ``penalty`` times less likely (the CTRL rule that
    ``transformers`` uses), except ``exempt`` ones (:func:`wordless_ids`); the prompt's tokens do not count."""

    def __init__(self, penalty: float, prompt_length: int, exempt: list[int]) -> None:
        self.penalty = penalty
        self.prompt_length = prompt_length
        self.exempt = exempt

    def __call__(self, input_ids: Any, scores: Any) -> Any:
        import torch

        reply = input_ids[:, self.prompt_length:]
        if reply.shape[-1] == 0:
            return scores
        size = scores.shape[-1]
        padded = torch.nn.functional.pad(scores, (0, 1))  # ids past the model's vocabulary land in the pad column
        reply = reply.clamp(max=size)
        seen = torch.gather(padded, 1, reply)
        penalised = padded.scatter(1, reply, torch.where(seen < 0, seen * self.penalty, seen / self.penalty))[:, :size]
        exempt = [i for i in self.exempt if i < size]
        penalised[:, exempt] = scores[:, exempt]
        return penalised


def reply_processors(prompt_length: int, repetition_penalty: float, no_repeat_ngram_size: int,
                     exempt: list[int]) -> Any:
    """The logits processors for one reply (a ``LogitsProcessorList``; empty when both are off)."""
    from transformers import LogitsProcessorList

    processors = LogitsProcessorList()
    if repetition_penalty > 1.0:
        processors.append(ReplyRepetitionPenalty(repetition_penalty, prompt_length, exempt))
    if no_repeat_ngram_size > 0:
        processors.append(NoRepeatInReply(no_repeat_ngram_size, prompt_length))
    return processors
