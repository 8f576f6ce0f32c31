"""What every speech recogniser offers: 16 kHz mono samples (and a prompt of names) → the text said; and the one
failure it raises."""

from __future__ import annotations

import numpy as np

from novelchat.errors import NovelChatError


class AsrError(NovelChatError):
    """Spoken questions cannot be transcribed here (no recogniser, a server down): one friendly line."""


class Transcriber:
    """A speech recogniser: 16 kHz mono float samples (and a prompt of names) → the text said."""

    def transcribe(self, samples: np.ndarray, prompt: str) -> str:
        raise NotImplementedError
