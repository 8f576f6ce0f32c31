"""Fine-tuning: a book into dialogue datasets, then LoRA / QLoRA training and merging. Run with --help."""

import sys

from novelchat.cli.finetune import main

if __name__ == "__main__":
    sys.exit(main())
