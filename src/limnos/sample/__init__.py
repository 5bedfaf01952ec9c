"""The sample data set that Limnos puts on ``main`` of a new repository.

It is used when a repository is created with ``sample_data: true`` and by
``limnos run --quickstart``. Everything is generated locally and
deterministically (no downloads): a README walk-through, a Parquet table of
synthetic lakes, a few derived data files and some PNG pictures.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator

from limnos.sample import datafiles, images
from limnos.sample.lakes import lakes_parquet
from limnos.sample.readme import WALKTHROUGH_BRANCH, readme_markdown

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

_FILES: dict[str, tuple[Callable[[], bytes], str]] = {
    "README.md": (readme_markdown, "text/markdown"),
    "data/README.txt": (datafiles.data_readme, "text/plain"),
    "data/countries.json": (datafiles.countries_json, "application/json"),
    "data/deepest_lakes.jsonl": (datafiles.deepest_lakes_jsonl, "application/x-ndjson"),
    "data/lakes_by_country.csv": (datafiles.lakes_by_country_csv, "text/csv"),
    "images/denmark-lakes.png": (images.denmark_map, "image/png"),
    "images/lakes-per-country.png": (images.country_bars, "image/png"),
    "images/logo.png": (images.logo, "image/png"),
    "images/world-lakes-by-depth.png": (images.world_map, "image/png"),
    "lakes.parquet": (lakes_parquet, "application/octet-stream"),
}


@functools.cache
def _generate() -> tuple[tuple[str, bytes, str], ...]:
    return tuple((path, make(), ctype) for path, (make, ctype) in sorted(_FILES.items()))


def sample_files() -> Iterator[tuple[str, bytes, str]]:
    """Yield (path, content, content_type) for every file of the sample data set, in path order.

    The content is the same on every call and every run (it is generated once per
    process and cached).
    """
    yield from _generate()
