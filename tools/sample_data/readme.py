"""The repository's ``README.md``: a walk-through template filled in with the data set's numbers."""

from __future__ import annotations

from pathlib import Path

from .lakes import COUNTRIES, country_count, lakes_parquet, row_count

TEMPLATE = Path(__file__).with_name("readme_template.md")
"""The walk-through, with ``{{NAME}}`` placeholders for the numbers."""


def _size(n: int) -> str:
    return f"{n / 1024:.0f} KiB" if n < 1024 * 1024 else f"{n / (1024 * 1024):.1f} MiB"


def readme_markdown() -> bytes:
    """Return ``README.md`` as UTF-8 bytes."""
    template = TEMPLATE.read_text("utf-8")
    values = {
        "ROWS": str(row_count()),
        "COUNTRIES": str(len(COUNTRIES)),
        "DANISH": str(country_count("Denmark")),
        "PARQUET_SIZE": _size(len(lakes_parquet())),
    }
    text = template
    for key, value in values.items():
        text = text.replace("{{" + key + "}}", value)
    if "{{" in text:
        raise ValueError("README template has an unknown placeholder")
    return text.encode("utf-8")
