"""Admission: at most a few requests of one kind in progress per process, the rest waiting in arrival order.

Sync rounds all meet at a few rows (the change-log counter, the shared rate-limit windows) and at the process's
small pool of database connections. Let in all at once, two hundred phones' rounds interleave their statements,
each goes back to the end of the pool's queue between statements, and a round's time depends on its luck: under
full load the slowest 1 % took four times the median (docs/benchmarks.md "Issue 13, stop 25"). Admitted a few at
a time, first come first served (asyncio.Semaphore wakes waiters in order), every round waits about as long as
the others and the database sees less contention.

A request is admitted only once its body has arrived and holds its place only while it works with the database,
so a phone uploading slowly over 2G, or reading its answer slowly, keeps no one waiting.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import AsyncIterator


class Admission:
    def __init__(self, limit: int) -> None:
        """`limit` requests in progress at once; 0 lets everything in."""
        self.limit = limit
        self._gate = asyncio.Semaphore(limit) if limit > 0 else None

    @contextlib.asynccontextmanager
    async def admitted(self) -> AsyncIterator[None]:
        if self._gate is None:
            yield
            return
        async with self._gate:
            yield
