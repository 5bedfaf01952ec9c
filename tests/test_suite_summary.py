"""How a run of the suite tells about its PostgreSQL half: the README's command with
``LIMNOS_TEST_POSTGRES_DSN`` runs it; without the variable it is skipped and counted in
one line at the end; under CI it fails instead of skipping."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

from conftest import POSTGRES_DSN_ENV, postgres_dsn

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
# A small module with tests on both halves (SQLite and PostgreSQL).
SAMPLE = "tests/engine/test_kv.py"
SUMMARY = re.compile(r"^(\d+) tests? skipped for lack of PostgreSQL", re.M)


def readme_command() -> tuple[dict[str, str], list[str]]:
    """The README's test command with the DSN: its variables and its arguments."""
    section = README.read_text().split("## Running the tests", 1)[1].split("\n## ", 1)[0]
    (line,) = [
        line
        for block in re.findall(r"```sh\n(.*?)```", section, re.S)
        for line in block.splitlines()
        if line.startswith(POSTGRES_DSN_ENV + "=")
    ]
    words = shlex.split(line)
    variables = dict(w.split("=", 1) for w in words if "=" in w and not w.startswith("-"))
    return variables, [w for w in words if w not in {f"{k}={v}" for k, v in variables.items()}]


def run_pytest(args: list[str], **env: str) -> subprocess.CompletedProcess[str]:
    """``args`` (a ``python -m pytest`` command) on the sample module, with ``env`` and
    neither the DSN nor CI unless given."""
    base = {k: v for k, v in os.environ.items() if k not in (POSTGRES_DSN_ENV, "CI")}
    assert args[:3] == ["python", "-m", "pytest"]
    return subprocess.run(
        [sys.executable, *args[1:], "-p", "no:cacheprovider", SAMPLE],
        cwd=ROOT,
        env={**base, **env},
        capture_output=True,
        text=True,
        timeout=300,
    )


def skipped_count(output: str) -> int:
    """pytest's own count of skipped tests, from its last line."""
    found = re.search(r"(\d+) skipped", output.strip().splitlines()[-1])
    return int(found.group(1)) if found else 0


def test_without_the_dsn_the_run_ends_counting_the_skips() -> None:
    _, args = readme_command()
    done = run_pytest(args)
    assert done.returncode == 0, done.stdout + done.stderr
    lines = done.stdout.strip().splitlines()
    counted = SUMMARY.match(lines[-2])
    assert counted, lines[-3:]
    # every skip of the sample module is one of the PostgreSQL half
    assert int(counted.group(1)) == skipped_count(done.stdout) > 0
    assert POSTGRES_DSN_ENV in lines[-2]


def test_under_ci_the_postgres_half_fails_instead_of_skipping() -> None:
    _, args = readme_command()
    done = run_pytest(args, CI="true")
    assert done.returncode != 0
    assert skipped_count(done.stdout) == 0
    assert not SUMMARY.search(done.stdout)
    assert f"Failed: {POSTGRES_DSN_ENV} is not set" in done.stdout


def test_with_the_dsn_nothing_is_skipped() -> None:
    dsn = postgres_dsn()
    variables, args = readme_command()
    assert set(variables) == {POSTGRES_DSN_ENV}
    done = run_pytest(args, **{POSTGRES_DSN_ENV: dsn})
    assert done.returncode == 0, done.stdout + done.stderr
    assert skipped_count(done.stdout) == 0
    assert not SUMMARY.search(done.stdout)


def test_ci_runs_the_postgres_half() -> None:
    """CI's entry point gives the suite a DSN and says it is CI, so nothing is skipped there."""
    script = (ROOT / ".ci" / "run").read_text()
    assert re.search(rf"^export {POSTGRES_DSN_ENV}=", script, re.M)
    assert re.search(r"^export CI=", script, re.M)
