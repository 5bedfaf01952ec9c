"""docs/s3-gateway.md runs as written: each of its Python, shell and rclone configuration
blocks, in order, against a server, with the doc's address, keys and repository replaced
by the test's."""

from __future__ import annotations

import contextlib
import io
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import ACCESS_KEY_ID, SECRET_ACCESS_KEY, Server

DOC = Path(__file__).resolve().parents[2] / "docs" / "s3-gateway.md"
QUICKSTART_KEY = "AKIAIOSFOLQUICKSTART"
QUICKSTART_SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"


def blocks() -> list[tuple[str, str]]:
    """(language, text) of every fenced block of the doc that names its language."""
    return re.findall(r"```(\w+)\n(.*?)```", DOC.read_text(), re.S)


def for_this_server(text: str, server: Server, repo: str) -> str:
    return (
        text.replace("127.0.0.1:8000", f"127.0.0.1:{server.port}")
        .replace(QUICKSTART_KEY, ACCESS_KEY_ID)
        .replace(QUICKSTART_SECRET, SECRET_ACCESS_KEY)
        .replace("example-repo", repo)
    )


def test_the_doc_shows_every_client() -> None:
    languages = [language for language, _ in blocks()]
    assert languages.count("python") == 4
    assert languages.count("sh") == 2
    assert languages.count("ini") == 1


def test_every_block_runs(server: Server, repo: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    rclone_config = tmp_path / "rclone.conf"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "RCLONE_"))}
    env.update(
        {
            # the `aws` of this interpreter's environment; an empty AWS configuration of its own
            "PATH": f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}",
            "AWS_CONFIG_FILE": str(tmp_path / "aws-config"),
            "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "aws-credentials"),
            "RCLONE_CONFIG": str(rclone_config),
        }
    )
    printed = []
    for language, text in blocks():
        code = for_this_server(text, server, repo)
        if language == "python":
            out = io.StringIO()
            with contextlib.redirect_stdout(out):
                exec(compile(code, str(DOC), "exec"), {})  # noqa: S102 - our own doc
            printed.append(out.getvalue())
        elif language == "sh":
            done = subprocess.run(
                ["bash", "-euo", "pipefail", "-c", code], env=env, capture_output=True, text=True, timeout=300
            )
            assert done.returncode == 0, f"{code}\n{done.stderr}"
            printed.append(done.stdout)
        elif language == "ini":
            rclone_config.write_text(code)
    boto3_out, cli_out, pandas_out, arrow_out, polars_out, rclone_out = printed
    assert "Baikal,1642" in boto3_out and "['main/raw/']" in boto3_out
    assert "tanganyika.csv" in cli_out
    assert "Superior" in pandas_out and "Malawi" in pandas_out
    assert "Superior" in arrow_out
    assert "Titicaca" in polars_out and "281" in polars_out
    assert "raw/" in rclone_out and "Baikal,1642" in rclone_out
