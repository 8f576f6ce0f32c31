"""The ``novelchat`` command: one front door to every tool (``novelchat start``, ``build``, ``ask``, ``eval``,
``convert``, ``finetune``, ``voice``). Each subcommand is the same program as its top-level script."""

from __future__ import annotations

import importlib
import sys
from dataclasses import dataclass


@dataclass(frozen=True)
class Command:
    """A subcommand: the module whose ``main(argv)`` runs it, and words put before the user's arguments."""

    module: str
    help: str
    prefix: tuple[str, ...] = ()


COMMANDS: dict[str, Command] = {
    "start": Command("novelchat.cli.start", "build the keyword index, then serve the app on 127.0.0.1:7860"),
    "build": Command("novelchat.cli.build", "build or update the index: corpus/ into chroma/"),
    "ask": Command("novelchat.cli.ask", "print the passages that answer a question", ("ask",)),
    "eval": Command("novelchat.cli.ask", "recall@k and MRR of retrieval on a QA file", ("eval",)),
    "convert": Command("novelchat.cli.convert", "write an InternLM2 checkpoint as a standard Llama one", ("convert",)),
    "finetune": Command("novelchat.cli.finetune", "dialogue datasets from a book; LoRA / QLoRA training"),
    "voice": Command("novelchat.voice.cli", "speak a text to an audio file"),
}


def usage() -> str:
    """The command list, as ``novelchat --help`` prints it."""
    width = max(map(len, COMMANDS))
    lines = [f"  {name:<{width}}  {command.help}" for name, command in COMMANDS.items()]
    return "usage: novelchat COMMAND [ARGS...]   (novelchat COMMAND --help for its options)\n\ncommands:\n" + "\n".join(
        lines
    )


def main(argv: list[str] | None = None) -> int:
    """Run the subcommand named first in ``argv``; its module is imported only then (``--help`` stays fast)."""
    args = sys.argv[1:] if argv is None else argv
    if not args or args[0] in {"-h", "--help"}:
        print(usage())
        return 0 if args else 2
    command = COMMANDS.get(args[0])
    if command is None:
        print(f"novelchat: unknown command {args[0]!r}\n\n{usage()}", file=sys.stderr)
        return 2
    return importlib.import_module(command.module).main([*command.prefix, *args[1:]])
