"""File-system clients of the S3 gateway: ``s3fs`` (and pandas through it) and
``pyarrow.fs.S3FileSystem``: Parquet written by one and read by the others, listings,
large files, and commits made through the REST API read back."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from conftest import BIG_OBJECT_SIZE, Server, file_digest, s3fs_options
from pyarrow import fs as pafs
from test_clients_boto3 import changes, commit


def table() -> pa.Table:
    return pa.table(
        {
            "lake": ["Baikal", "Tanganyika", "Superior", "Malawi"],
            "depth_m": [1642, 1470, 406, 706],
            "area_km2": [31722.0, 32600.0, 82100.0, 29600.0],
        }
    )


def test_parquet_written_by_pyarrow_is_read_by_pandas_through_s3fs(
    server: Server, arrow_fs: Any, repo: str, http: httpx.Client
) -> None:
    written = table()
    pq.write_table(written, f"{repo}/main/lakes/x.parquet", filesystem=arrow_fs)
    assert changes(http, repo) == {"lakes/x.parquet": "added"}
    frame = pd.read_parquet(f"s3://{repo}/main/lakes/x.parquet", storage_options=s3fs_options(server))
    pd.testing.assert_frame_equal(frame, written.to_pandas())
    assert pq.read_table(f"{repo}/main/lakes/x.parquet", filesystem=arrow_fs).equals(written)
    # pandas writes through s3fs too, and pyarrow reads a whole directory as one data set
    frame.to_parquet(f"s3://{repo}/main/lakes/y.parquet", storage_options=s3fs_options(server))
    both = pq.read_table(f"{repo}/main/lakes", filesystem=arrow_fs)
    assert both.num_rows == 2 * written.num_rows


def test_s3fs_lists_with_directories(s3fs_fs: Any, repo: str) -> None:
    for path in ("data/a/1.csv", "data/a/2.csv", "data/b/1.csv", "data/c.csv", "top.txt"):
        s3fs_fs.pipe(f"{repo}/main/{path}", path.encode())
    assert sorted(s3fs_fs.ls(f"{repo}/main/data", detail=False)) == [
        f"{repo}/main/data/a",
        f"{repo}/main/data/b",
        f"{repo}/main/data/c.csv",
    ]
    assert s3fs_fs.isdir(f"{repo}/main/data/a")
    assert s3fs_fs.info(f"{repo}/main/data/c.csv")["size"] == len("data/c.csv")
    assert sorted(s3fs_fs.find(f"{repo}/main/data")) == [
        f"{repo}/main/data/a/1.csv",
        f"{repo}/main/data/a/2.csv",
        f"{repo}/main/data/b/1.csv",
        f"{repo}/main/data/c.csv",
    ]
    assert sorted(s3fs_fs.glob(f"{repo}/main/data/*/1.csv")) == [
        f"{repo}/main/data/a/1.csv",
        f"{repo}/main/data/b/1.csv",
    ]
    assert s3fs_fs.cat(f"{repo}/main/top.txt") == b"top.txt"
    s3fs_fs.rm(f"{repo}/main/data", recursive=True)
    assert s3fs_fs.find(f"{repo}/main") == [f"{repo}/main/top.txt"]


def test_pyarrow_lists_with_selectors(arrow_fs: Any, repo: str) -> None:
    for path in ("data/a/1.csv", "data/b/1.csv", "data/c.csv"):
        with arrow_fs.open_output_stream(f"{repo}/main/{path}") as out:
            out.write(path.encode())
    shallow = arrow_fs.get_file_info(pafs.FileSelector(f"{repo}/main/data"))
    assert sorted((i.path, i.type) for i in shallow) == [
        (f"{repo}/main/data/a", pafs.FileType.Directory),
        (f"{repo}/main/data/b", pafs.FileType.Directory),
        (f"{repo}/main/data/c.csv", pafs.FileType.File),
    ]
    deep = arrow_fs.get_file_info(pafs.FileSelector(f"{repo}/main/data", recursive=True))
    assert sorted(i.path for i in deep if i.type == pafs.FileType.File) == [
        f"{repo}/main/data/a/1.csv",
        f"{repo}/main/data/b/1.csv",
        f"{repo}/main/data/c.csv",
    ]
    with arrow_fs.open_input_file(f"{repo}/main/data/c.csv") as f:
        assert f.read() == b"data/c.csv"


def test_large_files_through_s3fs_and_pyarrow(
    s3fs_fs: Any, arrow_fs: Any, repo: str, big_file: Path, tmp_path: Path
) -> None:
    s3fs_fs.put_file(str(big_file), f"{repo}/main/big/s3fs.bin")
    back = tmp_path / "s3fs.bin"
    s3fs_fs.get_file(f"{repo}/main/big/s3fs.bin", str(back))
    assert file_digest(back) == file_digest(big_file)
    pafs.copy_files(str(big_file), f"{repo}/main/big/arrow.bin", destination_filesystem=arrow_fs)
    assert arrow_fs.get_file_info(f"{repo}/main/big/arrow.bin").size == BIG_OBJECT_SIZE
    assert s3fs_fs.info(f"{repo}/main/big/arrow.bin")["size"] == BIG_OBJECT_SIZE
    again = tmp_path / "arrow.bin"
    s3fs_fs.get_file(f"{repo}/main/big/arrow.bin", str(again))
    assert file_digest(again) == file_digest(big_file)


def test_read_a_commit_made_through_the_rest_api(
    server: Server, s3fs_fs: Any, arrow_fs: Any, repo: str, http: httpx.Client
) -> None:
    written = table()
    pq.write_table(written, f"{repo}/main/t/part-0.parquet", filesystem=arrow_fs)
    committed = commit(http, repo)
    s3fs_fs.rm(f"{repo}/main/t/part-0.parquet")
    assert not s3fs_fs.exists(f"{repo}/main/t/part-0.parquet")
    assert s3fs_fs.ls(f"{repo}/{committed}/t", detail=False) == [f"{repo}/{committed}/t/part-0.parquet"]
    frame = pd.read_parquet(f"s3://{repo}/{committed}/t/part-0.parquet", storage_options=s3fs_options(server))
    pd.testing.assert_frame_equal(frame, written.to_pandas())
    assert pq.read_table(f"{repo}/{committed}/t", filesystem=arrow_fs).equals(written)
