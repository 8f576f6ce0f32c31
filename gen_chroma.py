"""Build the index: the books in corpus/ into chroma/ (keywords first, then vectors). Run with --help."""

import sys

from novelchat.cli.build import main

if __name__ == "__main__":
    sys.exit(main())
