"""The docs document every setting, their links lead somewhere, and the CI runs the README's own test command."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

from novelchat.config import settings_table
from tests.conftest import ROOT

TEST_COMMAND = re.compile(r"<!-- test-command -->\n```bash\n(.*?)\n```\n<!-- /test-command -->", re.S)
LINK = re.compile(r"(?<!!)\[[^\]]*\]\(([^)\s]+)\)")  # markdown links, not images


def pages() -> list[Path]:
    """The front doors and every page under docs/."""
    return [ROOT / "README.md", ROOT / "README.zh-CN.md", *sorted((ROOT / "docs").glob("*.md"))]


def anchors(page: Path) -> set[str]:
    """The heading anchors GitHub makes for a page: lower case, punctuation dropped, spaces as hyphens."""
    headings = re.findall(r"^#+ (.+)$", page.read_text(encoding="utf-8"), re.M)
    return {re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-") for heading in headings}


def ci_test_command() -> str:
    """The test command exactly as .ci/run extracts it from README.md (its own extraction line, run here)."""
    script = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    extract = re.search(r"^test_command=\$\((.*)\)$", script, re.M).group(1)
    result = subprocess.run(["bash", "-c", extract], cwd=ROOT, capture_output=True, text=True, check=True)
    return result.stdout.strip()


def test_settings_page_table_matches_the_settings():
    page = (ROOT / "docs" / "settings.md").read_text(encoding="utf-8")
    table = re.search(r"<!-- settings-table -->\n(.*?)\n<!-- /settings-table -->", page, re.S).group(1)
    assert table == settings_table(), "docs/settings.md is stale: paste `python -m novelchat.config` in it"


def test_ci_runs_the_readme_test_command():
    block = TEST_COMMAND.search((ROOT / "README.md").read_text(encoding="utf-8")).group(1)
    assert block.startswith("pip install -r requirements-dev.txt")
    assert ci_test_command() == block != ""


def test_the_chinese_readme_gives_the_same_test_command():
    block = TEST_COMMAND.search((ROOT / "README.md").read_text(encoding="utf-8")).group(1)
    assert block in (ROOT / "README.zh-CN.md").read_text(encoding="utf-8")


def test_the_readme_is_a_front_door():
    assert len((ROOT / "README.md").read_text(encoding="utf-8").splitlines()) <= 160


def test_links_between_pages_lead_somewhere():
    broken = []
    for page in pages():
        for target in LINK.findall(page.read_text(encoding="utf-8")):
            if re.match(r"[a-z]+:", target):
                continue  # a web address
            path, _, anchor = target.partition("#")
            linked = (page.parent / path).resolve() if path else page
            if not linked.exists() or (anchor and linked.suffix == ".md" and anchor not in anchors(linked)):
                broken.append(f"{page.relative_to(ROOT)}: {target}")
    assert not broken, broken
