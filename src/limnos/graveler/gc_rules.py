"""GC rules: for how many days objects that only older commits still reference are kept.

A repository's rules are one record in its settings partition (``<instance>/settings``),
so a repository deleted and created again under the same name starts without rules, and
deleting a repository removes them. Garbage collection reads them through
:meth:`GCRulesStore.get`.
"""

from __future__ import annotations

from collections.abc import Iterable

import msgspec

from limnos.graveler.errors import ValidationError
from limnos.graveler.model import Repository
from limnos.graveler.names import check_branch_name
from limnos.graveler.refs import settings_partition
from limnos.kv.store import KVStore

_KEY = b"gc_rules"
# lakeFS keeps retention periods as 32-bit integers.
MAX_RETENTION_DAYS = 2**31 - 1


class GCRules(msgspec.Struct, frozen=True):
    """Retention periods in days: the default, and the branches that have their own."""

    default_retention_days: int
    branches: dict[str, int] = {}

    @classmethod
    def of(cls, default_retention_days: int, branches: Iterable[tuple[str, int]]) -> GCRules:
        """Rules from a default and (branch, days) pairs; ValidationError naming what is
        wrong (a negative or too large period, a malformed branch name, a branch twice)."""
        _check_days(default_retention_days, "default_retention_days")
        periods: dict[str, int] = {}
        for branch, days in branches:
            check_branch_name(branch)
            _check_days(days, f"retention_days of branch {branch!r}")
            if branch in periods:
                raise ValidationError(f"branch {branch!r} has more than one GC rule")
            periods[branch] = days
        return cls(default_retention_days, dict(sorted(periods.items())))

    def retention_days(self, branch: str) -> int:
        """For how many days the branch keeps what its older commits reference."""
        return self.branches.get(branch, self.default_retention_days)


def _check_days(days: int, what: str) -> None:
    if days < 0:
        raise ValidationError(f"{what} must not be negative, got {days}")
    if days > MAX_RETENTION_DAYS:
        raise ValidationError(f"{what} must be at most {MAX_RETENTION_DAYS}, got {days}")


_encoder = msgspec.msgpack.Encoder()
_decoder = msgspec.msgpack.Decoder(GCRules)


class GCRulesStore:
    """The GC rules of repositories, in the metadata store."""

    def __init__(self, kv: KVStore) -> None:
        self.kv = kv

    def get(self, repo: Repository) -> GCRules | None:
        """The repository's rules; None while none are set."""
        data = self.kv.get(settings_partition(repo), _KEY)
        return None if data is None else _decoder.decode(data)

    def set(self, repo: Repository, rules: GCRules) -> None:
        """Replace the repository's rules."""
        self.kv.set(settings_partition(repo), _KEY, _encoder.encode(rules))

    def delete(self, repo: Repository) -> None:
        """Remove the repository's rules (none set is no error)."""
        self.kv.delete(settings_partition(repo), _KEY)
