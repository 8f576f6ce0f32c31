"""``python -m novelchat COMMAND``: the same as the ``novelchat`` console command."""

import sys

from novelchat.cli.main import main

sys.exit(main())
