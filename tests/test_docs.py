"""The README documents every setting and the CI runs the README's own test command."""

from __future__ import annotations

import re

from novelchat.config import settings_table
from tests.conftest import ROOT


def test_readme_settings_table_matches_the_settings():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    table = re.search(r"<!-- settings-table -->\n(.*?)\n<!-- /settings-table -->", readme, re.S).group(1)
    assert table == settings_table(), "README settings table is stale: run `python config.py` and paste it"


def test_ci_runs_the_readme_test_command():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    block = re.search(r"<!-- test-command -->\n```bash\n(.*?)\n```\n<!-- /test-command -->", readme, re.S).group(1)
    assert block.startswith("pip install -r requirements-dev.txt")
    assert "test-command" in (ROOT / ".ci" / "run").read_text(encoding="utf-8")
