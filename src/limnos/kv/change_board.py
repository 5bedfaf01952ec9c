"""Change counters in shared memory, telling every process of a machine when a cached
record may have changed.

Reading a record from SQLite costs little by itself, but it releases the interpreter
lock twice, and on a busy server each time the event loop has to win the lock back from
the threads that write. Records read on nearly every request and rarely written
(repositories, branches) are therefore kept in a per-process cache, and this board says
when a cached copy may be used: no more than looking at two integers in memory.

The board is a small file next to the database, mapped by every process that opens it
(worker processes, other servers on the same data directory). Partitions are spread by
a stable hash over slots; each slot holds two counters, *begun* and *ended*. A writer
holding the database's writer lock adds one to *begun* of a slot before its first
statement on a partition of that slot, and brings *ended* level with it once its
transaction has committed or rolled back, still under the lock. A reader that finds ``begun == ended``
knows that no write to the slot is under way; a copy read after that and stamped with
that number stays exact for as long as *begun* keeps it. A write whose process dies
between the two steps leaves a mark the next holder of the lock clears: a process that
dies releases the lock, so no write of it can still be under way.

A torn read of a counter (not expected on 64-bit machines, where aligned 8-byte loads
are whole) could only make two counters look different, which costs a read from the
database, or look equal to an old stamp, which it can only do by matching every bit.
"""

from __future__ import annotations

import mmap
import os
import zlib
from pathlib import Path

#: Slots on the board. More slots, fewer partitions sharing one; sharing costs only
#: cache misses (a write to one partition of a slot invalidates the others' copies).
SLOTS = 1024

_WRITING = 0  # word 0: nonzero while the lock holder has begun writes it has not ended
_HEADER_WORDS = 1


def slot_of(partition: str) -> int:
    """The slot of a partition: the same in every process (unlike ``hash``)."""
    return zlib.crc32(partition.encode()) % SLOTS


def _begun_word(slot: int) -> int:
    """Where a slot's *begun* count is; its *ended* count is the next word."""
    return _HEADER_WORDS + 2 * slot


class ChangeBoard:
    """The begun/ended counters of one database, shared through a mapped file."""

    def __init__(self, path: Path) -> None:
        size = (_HEADER_WORDS + 2 * SLOTS) * 8
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            if os.fstat(fd).st_size < size:
                # Several processes may do this at once: extending a file to the same
                # size keeps what is already there and zero-fills the rest.
                os.ftruncate(fd, size)
            self._map = mmap.mmap(fd, size)
        finally:
            os.close(fd)
        self._words = memoryview(self._map).cast("Q")
        self._begun: set[int] = set()  # slots begun by the current lock holder

    def stamp(self, slot: int) -> int | None:
        """The slot's change count when no write to it is under way, else None."""
        words = self._words
        index = _begun_word(slot)
        ended = words[index + 1]
        if words[index] != ended:
            return None
        return ended

    def still(self, slot: int, stamp: int) -> bool:
        """Whether no write to the slot has begun since ``stamp`` was taken."""
        words = self._words
        index = _begun_word(slot)
        return words[index] == stamp and words[index + 1] == stamp

    # the writer's side: only while holding the database's writer lock ----------------

    def acquired(self) -> None:
        """Called on taking the writer lock: clear what a holder that died left begun."""
        words = self._words
        if words[_WRITING]:
            for slot in range(SLOTS):
                index = _begun_word(slot)
                words[index + 1] = words[index]
            words[_WRITING] = 0

    def begin(self, partition: str) -> None:
        """Called before writing ``partition``: copies of its slot stop being used."""
        slot = slot_of(partition)
        if slot in self._begun:
            return
        words = self._words
        if not self._begun:
            words[_WRITING] = 1
        self._begun.add(slot)
        words[_begun_word(slot)] += 1

    def end(self) -> None:
        """Called once the transaction committed or rolled back, before releasing the
        lock: copies read from now on may be used again."""
        if not self._begun:
            return
        words = self._words
        for slot in self._begun:
            index = _begun_word(slot)
            words[index + 1] = words[index]
        self._begun.clear()
        words[_WRITING] = 0

    def close(self) -> None:
        self._words.release()
        self._map.close()
