"""The answer readers NovelChat knows, by name: what picks the answer sentence when no model writes the answer."""

from __future__ import annotations

from novelchat.answering.heuristic import HeuristicReader
from novelchat.answering.reader import Reader
from novelchat.registry import Registry

DEFAULT_READER = "heuristic"
READERS: Registry[Reader] = Registry("answer reader")
READERS.register(
    "heuristic", HeuristicReader,
    "rules: the sentence holding most of the question's rare words, shaped like its answer (no model)",
)
