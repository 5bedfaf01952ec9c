"""Ref expressions: ``main``, ``v1.0``, ``a1b2c3``, ``main~2``, ``main^2``, ``main@``.

``~N`` walks N first parents, ``^N`` takes the N-th parent, and a trailing ``@`` on a
branch means its committed data only (no staging).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from limnos.graveler.errors import NotFoundError, ValidationError
from limnos.graveler.model import Branch, Repository
from limnos.graveler.refs import RefStore

# Any unique prefix of a commit id names it, down to one digit, as in lakeFS.
_HEX = re.compile(r"[0-9a-f]{1,64}")
_MODIFIER = re.compile(r"([~^])(\d*)")


@dataclass(frozen=True, slots=True)
class ParsedRef:
    """A ref expression split into its base and ancestry modifiers."""

    base: str
    modifiers: tuple[tuple[str, int], ...]
    committed_only: bool


@dataclass(frozen=True, slots=True)
class ResolvedRef:
    """What a ref expression points at.

    ``branch_name``/``branch`` are set when the expression is a plain branch, in which
    case reads see its staging area unless ``committed_only``.
    """

    commit_id: str
    branch_name: str | None = None
    branch: Branch | None = None
    committed_only: bool = False

    @property
    def staging_tokens(self) -> list[str]:
        """Staging tokens to read, newest first (none for commits, tags, ``@`` refs)."""
        if self.branch is None or self.committed_only:
            return []
        return [self.branch.staging_token, *self.branch.sealed_tokens]


def parse(ref: str) -> ParsedRef:
    """Split ``ref`` into base and modifiers; raises ValidationError."""
    if not ref:
        raise ValidationError("ref must not be empty")
    cut = min((i for i in (ref.find("~"), ref.find("^")) if i >= 0), default=len(ref))
    base, rest = ref[:cut], ref[cut:]
    committed_only = False
    if base.endswith("@"):
        base, committed_only = base[:-1], True
    if rest.endswith("@"):
        rest, committed_only = rest[:-1], True
    if not base:
        raise ValidationError(f"ref {ref!r} is invalid")
    modifiers: list[tuple[str, int]] = []
    pos = 0
    for match in _MODIFIER.finditer(rest):
        if match.start() != pos:
            raise ValidationError(f"ref {ref!r} is invalid")
        modifiers.append((match.group(1), int(match.group(2) or "1")))
        pos = match.end()
    if pos != len(rest):
        raise ValidationError(f"ref {ref!r} is invalid")
    return ParsedRef(base, tuple(modifiers), committed_only)


def resolve(refs: RefStore, repo: Repository, ref: str) -> ResolvedRef:
    """Resolve a ref expression to a commit (and branch, for plain branch refs).

    A full 64-hex-digit commit id is looked up as a commit first: commits are cached in
    process, so reads at a commit id cost no metadata round trip (a branch or tag named
    exactly like an existing commit id is shadowed by it).
    """
    parsed = parse(ref)
    if is_commit_id(refs, repo, parsed.base):
        resolved = ResolvedRef(parsed.base)
        if not parsed.modifiers:
            return resolved
        return _apply_modifiers(refs, repo, resolved.commit_id, parsed, ref)
    branch = refs.find_branch(repo, parsed.base)
    if branch is not None:
        resolved = ResolvedRef(branch.commit_id, parsed.base, branch, parsed.committed_only)
    else:
        tag = refs.find_tag(repo, parsed.base)
        if tag is not None:
            resolved = ResolvedRef(tag.commit_id)
        else:
            resolved = ResolvedRef(_resolve_commit_id(refs, repo, parsed.base))
    if not parsed.modifiers:
        return resolved
    return _apply_modifiers(refs, repo, resolved.commit_id, parsed, ref)


def is_commit_id(refs: RefStore, repo: Repository, name: str) -> bool:
    """Whether ``name`` is the full id of an existing commit."""
    return len(name) == 64 and _HEX.fullmatch(name) is not None and refs.find_commit(repo, name) is not None


def _apply_modifiers(
    refs: RefStore, repo: Repository, commit_id: str, parsed: ParsedRef, ref: str
) -> ResolvedRef:
    for kind, n in parsed.modifiers:
        commit_id = _walk(refs, repo, commit_id, kind, n, ref)
    return ResolvedRef(commit_id)


def _resolve_commit_id(refs: RefStore, repo: Repository, base: str) -> str:
    if not _HEX.fullmatch(base):
        raise NotFoundError(f"ref {base!r} not found")
    if len(base) == 64:
        if refs.find_commit(repo, base) is None:
            raise NotFoundError(f"ref {base!r} not found")
        return base
    matches = refs.commits_with_prefix(repo, base, limit=2)
    if len(matches) != 1:
        raise NotFoundError(f"ref {base!r} not found" if not matches else f"ref {base!r} is ambiguous")
    return matches[0]


def _walk(refs: RefStore, repo: Repository, commit_id: str, kind: str, n: int, ref: str) -> str:
    if kind == "~":
        for _ in range(n):
            parents = refs.get_commit(repo, commit_id).parents
            if not parents:
                raise NotFoundError(f"ref {ref!r} not found: history is shorter")
            commit_id = parents[0]
        return commit_id
    if n == 0:
        return commit_id
    parents = refs.get_commit(repo, commit_id).parents
    if n > len(parents):
        raise NotFoundError(f"ref {ref!r} not found: commit has no parent {n}")
    return parents[n - 1]
