"""The sample data set that Limnos puts on ``main`` of a new repository.

It is used when a repository is created with ``sample_data: true`` and by
``limnos run --quickstart``. The files ship with the package, under ``files/``: a
README walk-through, a Parquet table of synthetic lakes, a few derived data files and
some PNG pictures. They are made, deterministically, by the script in
``tools/sample_data/`` of the source repository.
"""

from __future__ import annotations

from collections.abc import Iterator
from importlib import resources

__all__ = [
    "QUICKSTART_REPOSITORY",
    "SAMPLE_COMMIT_MESSAGE",
    "WALKTHROUGH_BRANCH",
    "sample_files",
]

QUICKSTART_REPOSITORY = "quickstart"
"""Name of the repository ``limnos run --quickstart`` creates (the README uses it)."""

SAMPLE_COMMIT_MESSAGE = "Add sample data"
"""A suitable message for the commit that adds the sample data set."""

WALKTHROUGH_BRANCH = "denmark-lakes"
"""The branch the README's walk-through creates."""

_CONTENT_TYPES: dict[str, str] = {
    "README.md": "text/markdown",
    "data/README.txt": "text/plain",
    "data/countries.json": "application/json",
    "data/deepest_lakes.jsonl": "application/x-ndjson",
    "data/lakes_by_country.csv": "text/csv",
    "images/denmark-lakes.png": "image/png",
    "images/lakes-per-country.png": "image/png",
    "images/logo.png": "image/png",
    "images/world-lakes-by-depth.png": "image/png",
    "lakes.parquet": "application/octet-stream",
}
"""Every file of the data set (path under ``files/``) and its content type."""


def sample_files() -> Iterator[tuple[str, bytes, str]]:
    """Yield (path, content, content_type) for every file of the sample data set, in path order.

    The content is read from the package's ``files/`` directory, so it is the same on
    every call and every run.
    """
    root = resources.files(__name__).joinpath("files")
    for path, content_type in sorted(_CONTENT_TYPES.items()):
        yield path, root.joinpath(*path.split("/")).read_bytes(), content_type
