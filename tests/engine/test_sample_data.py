"""The sample data set put on ``main`` by ``sample_data: true`` and ``limnos run --quickstart``.

The files ship with the package; ``tools/sample_data`` made them. The checks below read
the shipped files, and the generator must still give exactly those bytes.
"""

from __future__ import annotations

import csv
import io
import json
import os
import struct
import subprocess
import sys
import zlib
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path

import duckdb
import pandas as pd
import polars as pl
import pyarrow.parquet as pq
import pytest

import limnos.sample as sample

# The generator is a script kept in the repository, not part of the package.
TOOLS = Path(__file__).resolve().parents[2] / "tools"
if str(TOOLS) not in sys.path:
    sys.path.insert(0, str(TOOLS))

from sample_data import datafiles, lakes, make, png  # noqa: E402

EXPECTED_COLUMNS = [
    "lake_id",
    "name",
    "country",
    "country_code",
    "continent",
    "latitude",
    "longitude",
    "elevation_m",
    "area_km2",
    "max_depth_m",
    "mean_depth_m",
    "volume_km3",
    "shoreline_km",
    "type",
    "origin",
    "trophic_state",
    "ph",
    "ice_cover_days",
    "surveyed_on",
]
EXPECTED_TYPES = {
    "README.md": "text/markdown",
    "lakes.parquet": "application/octet-stream",
    "data/README.txt": "text/plain",
    "data/countries.json": "application/json",
    "data/deepest_lakes.jsonl": "application/x-ndjson",
    "data/lakes_by_country.csv": "text/csv",
    "images/denmark-lakes.png": "image/png",
    "images/lakes-per-country.png": "image/png",
    "images/logo.png": "image/png",
    "images/world-lakes-by-depth.png": "image/png",
}


@pytest.fixture(scope="module")
def files() -> dict[str, tuple[bytes, str]]:
    return {path: (content, ctype) for path, content, ctype in sample.sample_files()}


@pytest.fixture(scope="module")
def parquet(files: dict[str, tuple[bytes, str]]) -> bytes:
    return files["lakes.parquet"][0]


def _shipped_paths(directory: Traversable, prefix: str = "") -> list[str]:
    """Every file under the package's ``files/`` directory, as a ``/``-separated path."""
    paths: list[str] = []
    for child in directory.iterdir():
        if child.is_dir():
            paths += _shipped_paths(child, f"{prefix}{child.name}/")
        else:
            paths.append(prefix + child.name)
    return sorted(paths)


def _assert_same_file(path: str, generated: bytes, shipped: bytes) -> None:
    """Generated and shipped content are the same bytes.

    Parquet files record the version of the library that wrote them, so with another
    pyarrow than the one that made the shipped table the bytes may differ: then the two
    tables (schema, metadata and every value) must be equal instead.
    """
    if path == "lakes.parquet" and _parquet_writer(generated) != _parquet_writer(shipped):
        assert pq.read_table(io.BytesIO(generated)).equals(
            pq.read_table(io.BytesIO(shipped)), check_metadata=True
        ), "lakes.parquet holds other data than tools/sample_data makes"
        return
    assert generated == shipped, f"{path} differs from what tools/sample_data makes"


def _parquet_writer(data: bytes) -> str:
    return str(pq.ParquetFile(io.BytesIO(data)).metadata.created_by)


# --- the list of files -------------------------------------------------------------------------


def test_paths_are_sorted_unique_and_typed() -> None:
    entries = list(sample.sample_files())
    paths = [path for path, _, _ in entries]
    assert paths == sorted(paths)
    assert len(set(paths)) == len(paths)
    assert {path: ctype for path, _, ctype in entries} == EXPECTED_TYPES
    for path, content, _ in entries:
        assert isinstance(content, bytes) and content, path
        assert not path.startswith("/") and "//" not in path and not path.endswith("/")


def test_sample_files_is_a_fresh_iterator_every_time() -> None:
    first = list(sample.sample_files())
    second = list(sample.sample_files())
    assert first == second


def test_the_package_ships_exactly_the_sample_files() -> None:
    shipped = _shipped_paths(resources.files("limnos.sample").joinpath("files"))
    assert shipped == [path for path, _, _ in sample.sample_files()]


# --- lakes.parquet -----------------------------------------------------------------------------


def test_parquet_is_large_enough(parquet: bytes) -> None:
    assert parquet[:4] == b"PAR1" and parquet[-4:] == b"PAR1"
    assert len(parquet) >= 512 * 1024


def test_row_count_is_a_few_thousand() -> None:
    assert 5_000 <= lakes.row_count() <= 20_000
    assert 200 <= lakes.country_count("Denmark") <= 1_000


def test_parquet_reads_with_pandas(parquet: bytes) -> None:
    df = pd.read_parquet(io.BytesIO(parquet))
    assert list(df.columns) == EXPECTED_COLUMNS
    assert len(df) == lakes.row_count()
    assert df["lake_id"].is_unique
    assert list(df["lake_id"]) == list(range(1, len(df) + 1))
    assert not df.isna().any().any()
    assert (df.loc[df["country"] == "Denmark"]).shape[0] == lakes.country_count("Denmark")
    assert df["latitude"].between(-90, 90).all() and df["longitude"].between(-180, 180).all()
    assert (df["area_km2"] > 0).all() and (df["max_depth_m"] > 0).all()
    assert (df["mean_depth_m"] <= df["max_depth_m"]).all()
    assert set(df["type"]) == set(lakes.WATER_TYPES)
    assert not df.duplicated(["country", "name"]).any()


def test_parquet_reads_with_polars(parquet: bytes) -> None:
    df = pl.read_parquet(io.BytesIO(parquet))
    assert df.columns == EXPECTED_COLUMNS
    assert df.height == lakes.row_count()
    danish = df.filter(pl.col("country") == "Denmark")
    assert danish.height == lakes.country_count("Denmark")
    assert danish["country_code"].unique().to_list() == ["DK"]


def test_parquet_reads_with_duckdb(parquet: bytes, tmp_path: Path) -> None:
    path = tmp_path / "lakes.parquet"
    path.write_bytes(parquet)
    con = duckdb.connect()
    try:
        (rows,) = con.execute("SELECT count(*) FROM read_parquet(?)", [str(path)]).fetchone()
        assert rows == lakes.row_count()
        names = [r[0] for r in con.execute("DESCRIBE SELECT * FROM read_parquet(?)", [str(path)]).fetchall()]
        assert names == EXPECTED_COLUMNS
        # The README's exercise: keep only the Danish lakes.
        out = tmp_path / "denmark.parquet"
        con.execute(
            f"COPY (SELECT * FROM read_parquet('{path}') WHERE country = 'Denmark') "
            f"TO '{out}' (FORMAT parquet)"
        )
        (danish,) = con.execute("SELECT count(*) FROM read_parquet(?)", [str(out)]).fetchone()
        assert danish == lakes.country_count("Denmark")
    finally:
        con.close()


# --- determinism -------------------------------------------------------------------------------


def test_regenerating_gives_the_shipped_files(files: dict[str, tuple[bytes, str]], tmp_path: Path) -> None:
    written = make.write(tmp_path)
    on_disk = sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*") if p.is_file())
    assert list(written) == on_disk == list(files)
    for path, (shipped, _) in files.items():
        _assert_same_file(path, tmp_path.joinpath(*path.split("/")).read_bytes(), shipped)


def test_the_script_writes_the_same_bytes_on_every_run(tmp_path: Path) -> None:
    env = dict(os.environ, PYTHONHASHSEED="12345")
    run = subprocess.run(
        [sys.executable, "-m", "sample_data.make", "--out", str(tmp_path)],
        cwd=TOOLS,
        env=env,
        capture_output=True,
        text=True,
    )
    assert run.returncode == 0, run.stderr
    for path, content in make.generate().items():
        assert tmp_path.joinpath(*path.split("/")).read_bytes() == content, path


# --- images ------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", [p for p in EXPECTED_TYPES if p.endswith(".png")])
def test_png_is_valid(files: dict[str, tuple[bytes, str]], path: str) -> None:
    data = files[path][0]
    assert data.startswith(b"\x89PNG\r\n\x1a\n")
    chunks = list(png.iter_chunks(data))
    for kind, body, crc in chunks:
        assert zlib.crc32(kind + body) & 0xFFFFFFFF == crc, (path, kind)
    kinds = [kind for kind, _, _ in chunks]
    assert kinds[0] == b"IHDR" and kinds[-1] == b"IEND" and b"IDAT" in kinds
    width, height, depth, color, _, _, _ = struct.unpack(">IIBBBBB", chunks[0][1])
    assert (depth, color) == (8, 2)
    assert 16 <= width <= 2000 and 16 <= height <= 2000
    raw = zlib.decompress(b"".join(body for kind, body, _ in chunks if kind == b"IDAT"))
    assert len(raw) == height * (1 + 3 * width)
    assert all(raw[y * (1 + 3 * width)] == 0 for y in range(height))
    pixels = {raw[i : i + 3] for i in range(1, len(raw), 3 * 7 + 1)}
    assert len(pixels) > 2  # not a blank picture


def test_png_encoder_round_trip() -> None:
    canvas = png.Canvas(3, 2, (1, 2, 3))
    canvas.set(2, 1, (250, 0, 7))
    data = canvas.to_png()
    chunks = {kind: body for kind, body, _ in png.iter_chunks(data)}
    raw = zlib.decompress(chunks[b"IDAT"])
    assert raw == b"\x00" + bytes((1, 2, 3)) * 3 + b"\x00" + bytes((1, 2, 3)) * 2 + b"\xfa\x00\x07"
    with pytest.raises(ValueError):
        png.encode_png(2, 2, b"\x00" * 11)


# --- data/ ---------------------------------------------------------------------------------------


def test_data_files_agree_with_the_table(files: dict[str, tuple[bytes, str]]) -> None:
    rows = list(csv.DictReader(io.StringIO(files["data/lakes_by_country.csv"][0].decode())))
    assert sum(int(r["lakes"]) for r in rows) == lakes.row_count()
    assert {r["country"]: int(r["lakes"]) for r in rows}["Denmark"] == lakes.country_count("Denmark")
    countries = json.loads(files["data/countries.json"][0])
    assert [c["name"] for c in countries] == [r["country"] for r in rows]
    deepest = [json.loads(line) for line in files["data/deepest_lakes.jsonl"][0].splitlines()]
    assert len(deepest) == datafiles.DEEPEST_LAKES
    assert list(deepest[0]) == EXPECTED_COLUMNS
    depths = [d["max_depth_m"] for d in deepest]
    assert depths == sorted(depths, reverse=True)
    text = files["data/README.txt"][0].decode()
    assert all(name in text for name in EXPECTED_COLUMNS)


# --- README.md ---------------------------------------------------------------------------------


def test_readme_walks_through_the_quickstart(files: dict[str, tuple[bytes, str]]) -> None:
    text = files["README.md"][0].decode("utf-8")
    assert sample.QUICKSTART_REPOSITORY == "quickstart"
    assert sample.WALKTHROUGH_BRANCH == "denmark-lakes"
    assert 'lakefs.repository("quickstart")' in text
    assert 'repo.branch("denmark-lakes").create(source_reference="main")' in text
    assert "/repositories/quickstart/branches" in text
    assert "http://127.0.0.1:8000/api/v1" in text
    assert "AKIAIOSFOLQUICKSTART" in text and "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY" in text
    for call in ('.reader(mode="rb")', ".upload(", ".commit(", ".diff(", ".merge_into("):
        assert call in text, call
    assert "{{" not in text  # every placeholder was filled in
    assert str(lakes.row_count()) in text and str(lakes.country_count("Denmark")) in text
    for path in EXPECTED_TYPES:
        if path != "README.md":
            assert f"`{path}`" in text, path
