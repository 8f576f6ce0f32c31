"""Settings made from overrides are validated like settings read from the environment."""

from __future__ import annotations

import re

import pytest
from pydantic import ValidationError

from novelchat.cli import build as gen_chroma
from novelchat.config import Settings
from tests.conftest import ROOT


@pytest.fixture
def settings() -> Settings:
    return Settings(_env_file=None)


@pytest.mark.parametrize(("change", "said"), [({"chunk_size": 10}, "chunk_size"),
                                              ({"chunk_overlap": 1000}, "chunk_overlap (1000) must be smaller"),
                                              ({"top_k": 0}, "top_k")])
def test_overrides_are_validated(settings, change, said):
    with pytest.raises(ValidationError, match=re.escape(said)):
        settings.with_(**change)


def test_overrides_keep_the_other_settings_and_read_nothing_again(settings, monkeypatch):
    monkeypatch.setenv("NOVELCHAT_TOP_K", "9")
    smaller = settings.with_(chunk_size=300, chunk_overlap=50)
    assert (smaller.chunk_size, smaller.chunk_overlap, smaller.top_k) == (300, 50, settings.top_k)
    assert settings.chunk_size == 600


def test_the_cli_refuses_bad_chunking_in_one_line(tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_:
        gen_chroma.main(["--corpus", str(tmp_path), "--persist", str(tmp_path / "chroma"), "--chunk-size", "10"])
    assert exit_.value.code == 2
    error = capsys.readouterr().err.strip().splitlines()[-1]
    assert "chunk_size" in error and "greater than or equal to 50" in error
    assert not (tmp_path / "chroma").exists()


def test_no_code_copies_settings_without_validation():
    """``model_copy(update=…)`` checks nothing: the project's code makes settings from overrides with ``with_``."""
    copying = [path.name for path in ROOT.glob("*.py") if "model_copy(" in path.read_text(encoding="utf-8")]
    assert copying == []
