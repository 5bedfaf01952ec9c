"""bench/README.md names scripts and options that exist: each script of its table starts
(``--help``) and takes every option the README gives it, in the table's quick run and in
the script's own section. The benchmarks themselves take minutes and are not run here."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "bench" / "README.md"
OPTION = re.compile(r"(?<![\w-])(--[a-z][a-z0-9-]*|-[a-zA-Z])(?![\w-])")


def table() -> dict[str, str]:
    """script -> its quick run, from the README's table."""
    rows = re.findall(r"^\| `([a-z0-9_]+\.py)` \|.*\| ([^|]*) \|$", README.read_text(), re.M)
    return dict(rows)


def section(script: str) -> str:
    """The README's section on ``script`` (empty when it has none)."""
    parts = re.split(r"^## ", README.read_text(), flags=re.M)
    return next((part for part in parts if part.startswith(f"`{script}`")), "")


def options_given(script: str) -> set[str]:
    """Options the README gives ``script``: in code spans of its quick run and section that
    are options or a command of the script (not those of other programs)."""
    spans = re.findall(r"`([^`]+)`", table()[script] + section(script))
    ours = [span for span in spans if span.startswith("-") or script in span]
    return {option for span in ours for option in OPTION.findall(span)}


def test_the_table_lists_every_script() -> None:
    scripts = {p.name for p in (ROOT / "bench").glob("*.py") if not p.name.startswith("_")}
    assert set(table()) == scripts


@pytest.mark.parametrize("script", sorted(table()))
def test_each_script_takes_the_options_the_readme_gives_it(script: str) -> None:
    done = subprocess.run(
        [sys.executable, str(ROOT / "bench" / script), "--help"],
        cwd=ROOT,
        env={**os.environ, "COLUMNS": "200"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    accepted = set(OPTION.findall(done.stdout))
    assert sorted(options_given(script) - accepted) == []
