"""Validation of repository, branch and tag names and of object paths."""

from __future__ import annotations

import re

from limnos.graveler.errors import ValidationError

REPOSITORY_NAME = re.compile(r"[a-z0-9][a-z0-9-]{2,62}")
# Branch names: ASCII letters, digits, '_' and '-', not starting with '-' (as lakeFS, whose
# \w is ASCII only). Names are matched whole: '$' would let a trailing newline through.
BRANCH_NAME = re.compile(r"\w[-\w]*", re.ASCII)
_TAG_FORBIDDEN = re.compile(r"[\x00-\x20~^:?*\[\\]|\.\.|@\{|//")
#: The longest object path, branch name or tag name, in bytes of UTF-8: the same on every
#: metadata store.
MAX_NAME_BYTES = 4096


def _check_length(value: str, what: str) -> None:
    """Raise ValidationError if ``value`` is longer than :data:`MAX_NAME_BYTES` (checked
    first: the other checks, and their messages, need not see all of it)."""
    if len(value) > MAX_NAME_BYTES // 4 and len(value.encode("utf-8", "surrogatepass")) > MAX_NAME_BYTES:
        raise ValidationError(f"{what}: invalid value: validation error: longer than {MAX_NAME_BYTES} bytes")


def check_repository_name(name: str) -> None:
    """Raise ValidationError unless ``name`` is a valid repository name."""
    if not REPOSITORY_NAME.fullmatch(name):
        raise ValidationError(
            f"repository id: invalid value: validation error: {name!r} (use 3-63 lowercase "
            "letters, digits and '-', starting with a letter or digit)"
        )


def check_branch_name(name: str) -> None:
    """Raise ValidationError unless ``name`` is a valid branch name."""
    _check_length(name, "branch id")
    if not BRANCH_NAME.fullmatch(name):
        raise ValidationError(
            f"branch id: invalid value: validation error: {name!r} (use letters, digits, '_' and '-', "
            "not starting with '-')"
        )


def check_tag_name(name: str) -> None:
    """Raise ValidationError unless ``name`` is a valid tag name (git's rules, roughly)."""
    _check_length(name, "tag id")
    if (
        not name
        or _TAG_FORBIDDEN.search(name)
        or name.startswith(("/", "-", "."))
        or name.endswith(("/", ".", ".lock"))
        or name == "@"
    ):
        raise ValidationError(f"tag id: invalid value: validation error: {name!r}")


def check_path(path: str, *, what: str = "path") -> None:
    """Raise ValidationError unless ``path`` can name an object."""
    if not path:
        raise ValidationError(f"missing {what}: required value: validation error")
    if "\x00" in path:
        raise ValidationError(f"{what}: invalid value: validation error: {path!r} contains a NUL character")
    _check_length(path, what)
