"""S3's XML documents, built as text: small, explicit, and escaped in one place.

An element built here is an :class:`Xml`; any other string given as a child is text and
is escaped, so a key such as ``<a>`` can never become markup.
"""

from __future__ import annotations

import xml.etree.ElementTree as ElementTree
from datetime import UTC, datetime
from xml.sax.saxutils import escape

S3_NAMESPACE = "http://s3.amazonaws.com/doc/2006-03-01/"


class Xml(str):
    """Markup already built (an element or a run of elements)."""


def element(name: str, *children: Xml | str | int | bool | None) -> Xml:
    """``<name>children</name>``; None children are left out, booleans are
    ``true``/``false``, text is escaped."""
    inner: list[str] = []
    for child in children:
        if child is None:
            continue
        if isinstance(child, Xml):
            inner.append(child)
        elif isinstance(child, bool):
            inner.append("true" if child else "false")
        elif isinstance(child, int):
            inner.append(str(child))
        else:
            inner.append(escape(child))
    return Xml(f"<{name}>{''.join(inner)}</{name}>")


def elements(items: list[Xml]) -> Xml:
    """Several elements as one child."""
    return Xml("".join(items))


def xml_document(root: Xml, *, namespace: bool = False) -> bytes:
    """A whole document; with ``namespace`` the root element carries S3's namespace."""
    if namespace:
        tag_end = root.index(">")
        root = Xml(f'{root[:tag_end]} xmlns="{S3_NAMESPACE}"{root[tag_end:]}')
    return ('<?xml version="1.0" encoding="UTF-8"?>\n' + root).encode()


def timestamp(unix_seconds: float) -> str:
    """S3's time format (ISO 8601 in UTC with milliseconds): ``2024-01-31T12:00:00.000Z``."""
    when = datetime.fromtimestamp(unix_seconds, UTC)
    return when.strftime("%Y-%m-%dT%H:%M:%S.") + f"{when.microsecond // 1000:03d}Z"


def local_name(tag: str) -> str:
    """An element's tag without its namespace."""
    return tag.rsplit("}", 1)[-1]


def parse_request(body: bytes, root: str) -> ElementTree.Element | None:
    """The document of a request body whose root element is ``root`` (in any namespace),
    or None when the body is not well-formed XML or has another root."""
    try:
        document = ElementTree.fromstring(body)
    except ElementTree.ParseError:
        return None
    return document if local_name(document.tag) == root else None
