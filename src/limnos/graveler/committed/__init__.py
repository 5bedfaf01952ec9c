"""The committed tree store: immutable sorted maps stored as content-addressed ranges.

A tree maps keys (object paths) to opaque value bytes. It is cut into ranges
at content-defined boundaries (``chunking``), each range stored as a file
named by its SHA-256 (``rangefile``), and listed by a metarange whose id is the
tree id. Changing a few keys rewrites only the ranges holding them
(``apply``); diff and merge skip ranges the trees share (``diff``, ``merge``).
``CommittedStore`` (``store``) is the entry point.

Modules: ``chunking`` (range boundaries), ``rangefile`` (file formats and
decoded forms), ``cache`` (memory LRU and disk cache), ``storage`` (cached,
deduplicated object I/O), ``writer`` (cutting entries into stored ranges),
``apply``, ``diff``, ``merge``, ``bounds`` (start/prefix intervals),
``errors``, ``store``.
"""

from limnos.graveler.committed.errors import MergeConflictError
from limnos.graveler.committed.rangefile import RangeInfo
from limnos.graveler.committed.store import CommittedStore

__all__ = ["CommittedStore", "MergeConflictError", "RangeInfo"]
