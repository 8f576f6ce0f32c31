"""Speech recognition on an OpenAI-compatible server (``POST /v1/audio/transcriptions``: faster-whisper-server,
vLLM, LocalAI, OpenAI): the scale-out option. The recording is sent from memory as a WAV file."""

from __future__ import annotations

import logging

import numpy as np
import openai

from novelchat.asr.base import AsrError, Transcriber
from novelchat.voice.audio import wav_bytes

log = logging.getLogger(__name__)


class OpenAITranscriber(Transcriber):
    """A transcription server at ``base_url`` serving ``model``."""

    def __init__(self, base_url: str, model: str, api_key: str = "EMPTY", timeout: float = 60.0) -> None:
        if not base_url:
            raise AsrError("没有设置语音识别服务 / no transcription server set", detail="NOVELCHAT_ASR_BASE_URL")
        self.model = model
        self.client = openai.OpenAI(base_url=base_url, api_key=api_key, timeout=timeout, max_retries=0)

    def transcribe(self, samples: np.ndarray, prompt: str) -> str:
        try:
            result = self.client.audio.transcriptions.create(
                file=("question.wav", wav_bytes(samples, 16_000), "audio/wav"), model=self.model,
                prompt=prompt or openai.NOT_GIVEN, response_format="json",
            )
        except openai.OpenAIError as error:
            log.warning("transcription server failed: %s: %s", type(error).__name__, error)
            raise AsrError("语音识别服务不可用 / the transcription server failed",
                           detail=f"{type(error).__name__}: {error}") from error
        return result.text
