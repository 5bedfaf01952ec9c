"""Write the sample data set into ``src/limnos/sample/files/`` (or the directory given with ``--out``).

Run from the repository's ``tools/`` directory (pyarrow must be installed)::

    python -m sample_data.make
    python -m sample_data.make --out /tmp/sample

Every run writes the same bytes.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Sequence
from pathlib import Path

from . import datafiles, images
from .lakes import lakes_parquet
from .readme import readme_markdown

SHIPPED = Path(__file__).resolve().parents[2] / "src" / "limnos" / "sample" / "files"
"""Where Limnos ships the files from (the package data of ``limnos.sample``)."""

FILES: dict[str, Callable[[], bytes]] = {
    "README.md": readme_markdown,
    "data/README.txt": datafiles.data_readme,
    "data/countries.json": datafiles.countries_json,
    "data/deepest_lakes.jsonl": datafiles.deepest_lakes_jsonl,
    "data/lakes_by_country.csv": datafiles.lakes_by_country_csv,
    "images/denmark-lakes.png": images.denmark_map,
    "images/lakes-per-country.png": images.country_bars,
    "images/logo.png": images.logo,
    "images/world-lakes-by-depth.png": images.world_map,
    "lakes.parquet": lakes_parquet,
}
"""Every file of the data set (``/``-separated path) and the function that makes it."""


def generate() -> dict[str, bytes]:
    """Return the content of every file of the data set, by path, in path order."""
    return {path: make() for path, make in sorted(FILES.items())}


def write(out: Path) -> dict[str, bytes]:
    """Write every file of the data set under ``out``; return what was written, by path."""
    files = generate()
    for path, content in files.items():
        target = out.joinpath(*path.split("/"))
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(content)
    return files


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m sample_data.make", description="Write the Limnos sample data set."
    )
    parser.add_argument(
        "--out", type=Path, default=SHIPPED, help=f"directory to write into (default: {SHIPPED})"
    )
    args = parser.parse_args(argv)
    for path, content in write(args.out).items():
        print(f"{len(content):>9}  {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
