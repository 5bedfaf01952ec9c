"""Ref expressions: ``main``, ``v1.0``, ``a1b2c3``, ``main~2``, ``main^2``, ``main@``, ``main$``.

``~N`` walks N first parents, ``^N`` takes the N-th parent, a trailing ``@`` on a
branch means its committed data only (no staging), and a trailing ``$`` names the
branch's staging area explicitly (which reads as the plain branch does, but is no
commit: operations that need one refuse it).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from limnos.graveler.errors import NotFoundError, ValidationError
from limnos.graveler.model import Branch, Repository
from limnos.graveler.refs import RefStore

# Any unique prefix of a commit id names it, down to one digit, as in lakeFS.
_HEX = re.compile(r"[0-9a-f]{1,64}")
# ASCII digits only: ``\d`` and ``int()`` take any Unicode digit (``main~١`` is no ref).
_MODIFIER = re.compile(r"([~^])([0-9]*)")
# Longer numbers than this name no ancestor any history has (and int() of thousands of
# digits is refused by Python itself).
_MAX_DIGITS = 18


@dataclass(frozen=True, slots=True)
class ParsedRef:
    """A ref expression split into its base and ancestry modifiers."""

    base: str
    modifiers: tuple[tuple[str, int], ...]
    committed_only: bool
    #: A trailing ``$``: the branch's staging area, named explicitly.
    staging: bool = False


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
        raise ValidationError("ref: required value: validation error")
    if ref.endswith("$"):
        # As in lakeFS, '$' follows a plain branch name and takes no other modifier.
        base = ref[:-1]
        if not base or any(c in base for c in "~^@$"):
            raise ValidationError(invalid_ref(ref))
        return ParsedRef(base, (), False, staging=True)
    cut = min((i for i in (ref.find("~"), ref.find("^")) if i >= 0), default=len(ref))
    base, rest = ref[:cut], ref[cut:]
    committed_only = False
    if base.endswith("@"):
        base, committed_only = base[:-1], True
    if rest.endswith("@"):
        rest, committed_only = rest[:-1], True
    if not base:
        raise ValidationError(invalid_ref(ref))
    modifiers: list[tuple[str, int]] = []
    pos = 0
    for match in _MODIFIER.finditer(rest):
        if match.start() != pos:
            raise ValidationError(invalid_ref(ref))
        if len(match.group(2)) > _MAX_DIGITS:
            raise ValidationError(invalid_ref(ref[:64] + "...", f"{match.group(1)}N: the number is too long"))
        modifiers.append((match.group(1), int(match.group(2) or "1")))
        pos = match.end()
    if pos != len(rest):
        raise ValidationError(invalid_ref(ref))
    return ParsedRef(base, tuple(modifiers), committed_only)


def invalid_ref(ref: str, why: str = "") -> str:
    """What a client is told of a malformed ref expression (lakeFS's wording first)."""
    return f"ref: invalid value: validation error: {ref!r}" + (f": {why}" if why else "")


def staging_is_not_a_commit(ref: str) -> str:
    """What a client is told when ``ref`` names a staging area where a commit is needed."""
    return f"reference {ref!r}: reference to staging area with $ is not a commit"


def should_point_to_a_commit(ref: str) -> str:
    """What a client reading a commit (or tagging one) is told of a staging area."""
    return invalid_ref(ref, "should point to a commit")


def require_commit(ref: str, message: Callable[[str], str] = staging_is_not_a_commit) -> None:
    """Raise ValidationError if ``ref`` names a branch's staging area (``main$``) where the
    operation needs a commit; ``message`` words the refusal."""
    if ref.endswith("$") and parse(ref).staging:
        raise ValidationError(message(ref))


def resolve(refs: RefStore, repo: Repository, ref: str) -> ResolvedRef:
    """Resolve a ref expression to a commit (and branch, for plain branch refs).

    A full 64-hex-digit commit id is looked up as a commit first: commits are cached in
    process, so reads at a commit id cost no metadata round trip (a branch or tag named
    exactly like an existing commit id is shadowed by it).
    """
    parsed = parse(ref)
    if parsed.staging:
        branch = refs.find_branch(repo, parsed.base)
        if branch is None:
            _resolve_base(refs, repo, parsed.base)  # NotFound when it names nothing at all
            raise ValidationError(invalid_ref(ref, "'$' follows a branch name"))
        return ResolvedRef(branch.commit_id, parsed.base, branch)
    if is_commit_id(refs, repo, parsed.base):
        resolved = ResolvedRef(parsed.base)
        if not parsed.modifiers:
            return resolved
        return _apply_modifiers(refs, repo, resolved.commit_id, parsed, ref)
    branch = refs.find_branch(repo, parsed.base)
    if branch is not None:
        resolved = ResolvedRef(branch.commit_id, parsed.base, branch, parsed.committed_only)
    else:
        resolved = ResolvedRef(_resolve_base(refs, repo, parsed.base))
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


def _resolve_base(refs: RefStore, repo: Repository, base: str) -> str:
    """The commit of a tag, or of a full or unique-prefix commit id (a branch is looked up
    first by the caller)."""
    tag = refs.find_tag(repo, base)
    if tag is not None:
        return tag.commit_id
    if not _HEX.fullmatch(base):
        raise NotFoundError(f"ref {base!r}: not found")
    # Hex digits were last looked up as (the start of) a commit id.
    if len(base) == 64:
        if refs.find_commit(repo, base) is None:
            raise NotFoundError(f"ref {base!r}: commit not found")
        return base
    matches = refs.commits_with_prefix(repo, base, limit=2)
    if len(matches) != 1:
        why = "" if not matches else ": more than one commit id starts with it"
        raise NotFoundError(f"ref {base!r}: commit not found{why}")
    return matches[0]


def _walk(refs: RefStore, repo: Repository, commit_id: str, kind: str, n: int, ref: str) -> str:
    if kind == "~":
        for _ in range(n):
            parents = refs.get_commit(repo, commit_id).parents
            if not parents:
                raise NotFoundError(f"ref {ref!r}: not found: the history is shorter")
            commit_id = parents[0]
        return commit_id
    if n == 0:
        return commit_id
    parents = refs.get_commit(repo, commit_id).parents
    if n > len(parents):
        raise ValidationError(invalid_ref(ref, f"the commit has no parent {n}"))
    return parents[n - 1]
