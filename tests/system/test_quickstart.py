"""`limnos run --quickstart` end to end, and the README's first session run verbatim."""

from __future__ import annotations

import io
import re
from pathlib import Path

import duckdb
import lakefs
import pandas
import polars
import pytest
from conftest import Server, free_port

from limnos.config import QUICKSTART_ACCESS_KEY_ID, QUICKSTART_SECRET_ACCESS_KEY

README = Path(__file__).resolve().parents[2] / "README.md"


@pytest.fixture(scope="module")
def quickstart(tmp_path_factory: pytest.TempPathFactory) -> Server:
    """A quickstart server; the test installation keys are blanked so quickstart's apply."""
    server = Server(
        tmp_path_factory.mktemp("quickstart"),
        free_port(),
        extra_env={
            "LAKEFS_INSTALLATION_USER_NAME": "",
            "LAKEFS_INSTALLATION_ACCESS_KEY_ID": "",
            "LAKEFS_INSTALLATION_SECRET_ACCESS_KEY": "",
        },
    )
    server.start("--quickstart")
    yield server
    server.stop()


def client_for(server: Server) -> lakefs.Client:
    return lakefs.Client(
        host=server.url, username=QUICKSTART_ACCESS_KEY_ID, password=QUICKSTART_SECRET_ACCESS_KEY
    )


def test_banner_prints_the_url_and_the_credentials(quickstart: Server) -> None:
    assert quickstart.log_path is not None
    banner = quickstart.log_path.read_text()
    assert f"http://127.0.0.1:{quickstart.port}/api/v1" in banner
    assert QUICKSTART_ACCESS_KEY_ID in banner
    assert QUICKSTART_SECRET_ACCESS_KEY in banner


def test_sample_repository_holds_the_sample_data(quickstart: Server, tmp_path: Path) -> None:
    main = lakefs.Repository("quickstart", client=client_for(quickstart)).branch("main")
    paths = {obj.path for obj in main.objects()}
    assert {"README.md", "lakes.parquet"} <= paths
    assert any(p.startswith("data/") for p in paths)
    assert any(p.startswith("images/") for p in paths)
    parquet = main.object("lakes.parquet").reader(mode="rb").read()
    assert len(parquet) >= 512 * 1024
    rows = len(pandas.read_parquet(io.BytesIO(parquet)))
    assert rows >= 1000
    assert polars.read_parquet(io.BytesIO(parquet)).height == rows
    spilled = tmp_path / "lakes.parquet"
    spilled.write_bytes(parquet)
    counted = duckdb.connect().execute("SELECT count(*) FROM read_parquet(?)", [str(spilled)])
    assert counted.fetchone() == (rows,)
    readme = main.object("README.md").reader(mode="r").read()
    assert "quickstart" in readme


def test_readme_first_session_runs_as_written(quickstart: Server) -> None:
    """The Python block of the README's "A first session", against this server."""
    text = README.read_text()
    section = text.split("## A first session", 1)[1]
    code = re.search(r"```python\n(.*?)```", section, re.S)
    assert code is not None
    source = code.group(1).replace("http://127.0.0.1:8000", quickstart.url)
    namespace: dict[str, object] = {}
    exec(compile(source, str(README), "exec"), namespace)  # noqa: S102 - our own README
    main = lakefs.Repository("quickstart", client=client_for(quickstart)).branch("main")
    assert main.object("notes/hello.txt").reader(mode="rb").read() == b"my first change\n"
    assert not main.object("data/README.txt").exists()
