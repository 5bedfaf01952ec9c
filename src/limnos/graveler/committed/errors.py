"""Errors of the committed tree store."""

from __future__ import annotations

from limnos.errors import Conflict

#: How many conflicting paths a MergeConflictError keeps.
MAX_CONFLICTS = 100
_SHOWN = 5


class MergeConflictError(Conflict):
    """A three-way merge found keys changed differently on both sides."""

    def __init__(self, paths: list[str]) -> None:
        self.paths = paths[:MAX_CONFLICTS]
        shown = ", ".join(repr(p) for p in self.paths[:_SHOWN])
        more = f" and {len(self.paths) - _SHOWN} more" if len(self.paths) > _SHOWN else ""
        if len(paths) >= MAX_CONFLICTS:
            more = f" and more (at least {len(self.paths)} in all)"
        super().__init__(f"conflict found: {shown}{more}")
