"""One command: build the keyword index, then serve the app on http://127.0.0.1:7860. Run with --help."""

import sys

from novelchat.cli.start import main

if __name__ == "__main__":
    sys.exit(main())
