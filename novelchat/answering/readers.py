"""The answer readers NovelChat knows, by name: what picks the answer sentence when no model writes the answer
(``Settings.answer_reader``); each factory takes the settings."""

from __future__ import annotations

from novelchat.answering.cross_encoder import CrossEncoderReader, load_cross_encoder
from novelchat.answering.heuristic import Calibration, HeuristicReader
from novelchat.answering.reader import Reader
from novelchat.config import Settings
from novelchat.registry import Registry, installed

READERS: Registry[Reader] = Registry("answer reader")


def _cross_encoder(settings: Settings) -> CrossEncoderReader:
    calibration = Calibration(*settings.reader_calibration) if settings.reader_calibration else None
    return CrossEncoderReader(load_cross_encoder(settings.reader_model, settings.embedding_device), calibration)


READERS.register(
    "heuristic", lambda settings: HeuristicReader(),
    "rules: the sentence holding most of the question's rare words, shaped like its answer (no model)",
)
READERS.register(
    "cross-encoder", _cross_encoder,
    "a reranker model (NOVELCHAT_READER_MODEL, e.g. BAAI/bge-reranker-v2-m3) scores each sentence; it shows one as "
    "the answer only once calibrated (NOVELCHAT_READER_CALIBRATION)",
    installed("sentence_transformers"),
)
