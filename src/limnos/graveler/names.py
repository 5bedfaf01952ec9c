"""Validation of repository, branch and tag names and of object paths."""

from __future__ import annotations

import re

from limnos.graveler.errors import ValidationError

REPOSITORY_NAME = re.compile(r"[a-z0-9][a-z0-9-]{2,62}")
# Branch names: ASCII letters, digits, '_' and '-', not starting with '-' (as lakeFS, whose
# \w is ASCII only). Names are matched whole: '$' would let a trailing newline through.
BRANCH_NAME = re.compile(r"\w[-\w]*", re.ASCII)
_TAG_FORBIDDEN = re.compile(r"[\x00-\x20~^:?*\[\\]|\.\.|@\{|//")


def check_repository_name(name: str) -> None:
    """Raise ValidationError unless ``name`` is a valid repository name."""
    if not REPOSITORY_NAME.fullmatch(name):
        raise ValidationError(
            f"repository id: invalid value: validation error: {name!r} (use 3-63 lowercase "
            "letters, digits and '-', starting with a letter or digit)"
        )


def check_branch_name(name: str) -> None:
    """Raise ValidationError unless ``name`` is a valid branch name."""
    if not BRANCH_NAME.fullmatch(name):
        raise ValidationError(
            f"branch id: invalid value: validation error: {name!r} (use letters, digits, '_' and '-', "
            "not starting with '-')"
        )


def check_tag_name(name: str) -> None:
    """Raise ValidationError unless ``name`` is a valid tag name (git's rules, roughly)."""
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
    if len(path.encode()) > 4096:
        raise ValidationError(f"{what}: invalid value: validation error: longer than 4096 bytes")
