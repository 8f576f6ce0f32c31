"""Ask the indexed books a question, or measure retrieval on a QA set (`ask`, `eval`). Run with --help."""

import sys

from novelchat.cli.ask import main

if __name__ == "__main__":
    sys.exit(main())
