"""Chat-model backends: check the configured model, or `convert` an InternLM2 checkpoint. Run with --help."""

import sys

from novelchat.models.chat import main

if __name__ == "__main__":
    sys.exit(main())
