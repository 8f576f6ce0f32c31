"""``novelchat convert SRC DST`` (or ``python llm.py convert SRC DST``): an InternLM2 checkpoint written as a
standard Llama one."""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from novelchat.models.errors import first_line

log = logging.getLogger(__name__)


def parser(gguf_file: str) -> argparse.ArgumentParser:
    """The command line: ``convert SOURCE TARGET [--gguf]``."""
    parser = argparse.ArgumentParser(prog="llm.py", description="Chat-model tools: convert an InternLM2 checkpoint.")
    commands = parser.add_subparsers(dest="command", required=True)
    convert = commands.add_parser(
        "convert",
        help="write an InternLM2 / 2.5 checkpoint (official, or XTuner-merged) as a standard Llama checkpoint",
        description="Reads SRC (a folder or hub id; its .py files are never run) and writes DST: Llama weight names "
        "(safetensors), tokenizer.json and the chat template. DST loads in transformers, vLLM and llama.cpp's "
        "convert_hf_to_gguf.py with no trust_remote_code.",
    )
    convert.add_argument("source", help="InternLM2 checkpoint folder or hub id")
    convert.add_argument("target", type=Path, help="output folder")
    convert.add_argument("--gguf", action="store_true", help=f"also write DST/{gguf_file} (llama.cpp, Ollama)")
    return parser


def main(argv: list[str] | None = None) -> int:
    """Convert; 0 when written, 1 (and one line on stderr) when not."""
    from novelchat.models.internlm2 import loader as internlm2  # torch and transformers: only for this command

    args = parser(internlm2.GGUF_FILE).parse_args(argv)
    try:
        target = internlm2.convert(args.source, args.target, gguf=args.gguf)
    except Exception as exc:  # a bad checkpoint or a bug: one line here, the traceback in the log
        log.exception("converting %s failed", args.source)
        print(f"转换失败 / Conversion failed: {type(exc).__name__}: {first_line(exc)}", file=sys.stderr)
        return 1
    print(f"已写出 / Wrote {target} (Llama layout; NOVELCHAT_LLM_MODEL={target})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
