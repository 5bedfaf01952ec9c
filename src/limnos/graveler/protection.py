"""Branch protection: the branches of a repository that take no direct writes or commits.

A repository keeps its protection rules as branch name patterns in its own record
(:attr:`Repository.protected_branches`), so every write already holds them and checking
costs no read. A branch matching a pattern takes no staged write, reset, direct commit or
deletion; merges into it are what it is for, and creating a branch that matches is
allowed, as in lakeFS.

Patterns use lakeFS's glob syntax (the gobwas/glob library's, without separators): ``*``
any run of characters, ``?`` one character, ``[abc]`` / ``[a-z]`` / ``[!abc]`` a class,
``{a,b}`` alternatives, and ``\\`` quoting the next character. A pattern lakeFS could not
compile is refused when set, instead of failing every later write.
"""

from __future__ import annotations

import functools
import hashlib
import re
from collections.abc import Iterable

import msgspec

from limnos.graveler.errors import ForbiddenError, ValidationError
from limnos.graveler.model import Repository

#: The ETag of a repository without rules, as lakeFS reports it.
NO_RULES_ETAG = ""


class _Glob:
    """Translates one glob pattern into an anchored regular expression."""

    def __init__(self, pattern: str) -> None:
        self.text = pattern
        self.pos = 0

    def regex(self) -> str:
        return self._sequence(in_alternatives=False)

    def _fail(self, problem: str) -> ValidationError:
        return ValidationError(f"invalid branch protection pattern {self.text!r}: {problem}")

    def _next(self) -> str | None:
        if self.pos >= len(self.text):
            return None
        char = self.text[self.pos]
        self.pos += 1
        return char

    def _sequence(self, *, in_alternatives: bool) -> str:
        parts: list[str] = []
        while self.pos < len(self.text):
            char = self.text[self.pos]
            if in_alternatives and char in ",}":
                break
            self.pos += 1
            if char == "*":
                if not parts or parts[-1] != ".*":  # "**" is "*" without separators
                    parts.append(".*")
            elif char == "?":
                parts.append(".")
            elif char == "\\":
                quoted = self._next()
                if quoted is not None:  # a trailing backslash quotes nothing, as in lakeFS
                    parts.append(re.escape(quoted))
            elif char == "[":
                parts.append(self._class())
            elif char == "{":
                parts.append(self._alternatives())
            else:
                parts.append(re.escape(char))
        return "".join(parts)

    def _alternatives(self) -> str:
        options = [self._sequence(in_alternatives=True)]
        while True:
            char = self._next()
            if char is None:
                raise self._fail("'{' is not closed")
            if char == "}":
                return "(?:" + "|".join(options) + ")"
            options.append(self._sequence(in_alternatives=True))

    def _class_char(self) -> str:
        char = self._next()
        if char == "\\":
            char = self._next()
        if char is None:
            raise self._fail("'[' is not closed")
        return char

    def _class(self) -> str:
        negated = self.pos < len(self.text) and self.text[self.pos] == "!"
        self.pos += negated
        items: list[str] = []
        while True:
            if self.pos >= len(self.text):
                raise self._fail("'[' is not closed")
            if self.text[self.pos] == "]":
                self.pos += 1
                break
            low = self._class_char()
            after = self.text[self.pos : self.pos + 2]
            if after[:1] == "-" and after[1:] not in ("", "]"):  # a range, not a final "-"
                self.pos += 1
                high = self._class_char()
                if high < low:
                    raise self._fail(f"range {low}-{high} is reversed")
                items.append(f"{re.escape(low)}-{re.escape(high)}")
            else:
                items.append(re.escape(low))
        if not items:
            raise self._fail("a character class must not be empty")
        return "[" + ("^" if negated else "") + "".join(items) + "]"


@functools.lru_cache(maxsize=4096)
def _compiled(pattern: str) -> re.Pattern[str]:
    return re.compile(_Glob(pattern).regex(), re.DOTALL)


def check_pattern(pattern: str) -> str:
    """``pattern`` if it is a valid rule; ValidationError naming what is wrong otherwise."""
    if not pattern:
        raise ValidationError("a branch protection pattern must not be empty")
    _compiled(pattern)
    return pattern


def normalized(patterns: Iterable[str]) -> tuple[str, ...]:
    """Valid patterns, each once, in order: the stored form of a set of rules."""
    return tuple(sorted({check_pattern(pattern) for pattern in patterns}))


def matches(pattern: str, branch: str) -> bool:
    """Whether a (valid) pattern covers the branch name."""
    return _compiled(pattern).fullmatch(branch) is not None


def is_protected(repo: Repository, branch: str) -> bool:
    """Whether a rule of the repository covers the branch."""
    patterns = repo.protected_branches
    if not patterns:  # most repositories: every write asks, so answer at once
        return False
    return any(_compiled(pattern).fullmatch(branch) is not None for pattern in patterns)


def etag(patterns: tuple[str, ...]) -> str:
    """The version of a set of rules: a hash of their stored form; "" when there are none
    (lakeFS's checksum of a setting not yet made)."""
    if not patterns:
        return NO_RULES_ETAG
    return hashlib.sha256(msgspec.msgpack.encode(patterns)).hexdigest()


def etag_matches(patterns: tuple[str, ...], if_match: str) -> bool:
    """Whether an ``If-Match`` value names this version of the rules (quoted or not)."""
    value = if_match.strip()
    if len(value) >= 2 and value[0] == value[-1] == '"':
        value = value[1:-1]
    return value == etag(patterns)


def check_write(repo: Repository, branch: str) -> None:
    """Refuse a staged write or a reset of a protected branch (ForbiddenError)."""
    if is_protected(repo, branch):
        raise ForbiddenError(f"cannot write to protected branch {branch!r} of repository {repo.name!r}")


def check_commit(repo: Repository, branch: str) -> None:
    """Refuse a direct commit to a protected branch (ForbiddenError): only merges go in."""
    if is_protected(repo, branch):
        raise ForbiddenError(
            f"cannot commit to protected branch {branch!r} of repository {repo.name!r}: merge into it instead"
        )


def check_delete(repo: Repository, branch: str) -> None:
    """Refuse the deletion of a protected branch (ForbiddenError)."""
    if is_protected(repo, branch):
        raise ForbiddenError(
            f"cannot delete protected branch {branch!r} of repository {repo.name!r}: "
            "remove its protection first"
        )
