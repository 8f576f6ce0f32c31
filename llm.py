"""Chat-model tools: `convert` an InternLM2 checkpoint to a standard Llama one. Run with --help."""

import sys

from novelchat.cli.convert import main

if __name__ == "__main__":
    sys.exit(main())
