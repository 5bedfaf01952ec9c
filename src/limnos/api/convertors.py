"""Path convertors of the API routes."""

from __future__ import annotations

from starlette.convertors import Convertor, register_url_convertor


class RefConvertor(Convertor[str]):
    """A ref in a URL path: tags may hold '/', but no segment may open a ``diff/`` or
    ``merge/`` suffix, so ``{ref}/commits`` never swallows a diff or merge-base URL."""

    regex = r"[^/]+(?:/(?!(?:diff|merge)/)[^/]+)*"

    def convert(self, value: str) -> str:
        return value

    def to_string(self, value: str) -> str:
        return value


# Routes are compiled when their module is imported: modules using {name:ref} import this one first.
register_url_convertor("ref", RefConvertor())
