"""Cases side by side: one event loop on a thread of its own runs a run's cases, at most
`bound` at a time, started in the order submitted.

Independent exchanges then overlap (a run takes about its longest chain of exchanges, not
their sum), while the caller (pytest's loop) still reports each case in catalogue order by
waiting on its future. Shared scenarios run once (`CaseContext.scenario`). `bound` 1 is the
sequential run a server that takes one session at a time needs.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import threading
from collections.abc import Awaitable, Callable
from typing import TypeVar

__all__ = ["CaseLoop"]

T = TypeVar("T")


class CaseLoop:
    """A persistent event loop on a daemon thread, running submitted coroutines `bound` at a
    time; `close()` cancels what is left (Ctrl-C, `-x`) and waits for it to unwind."""

    def __init__(self, bound: int) -> None:
        if bound < 1:
            raise ValueError(f"bound must be at least 1, not {bound}")
        self._loop = asyncio.new_event_loop()
        self._slots = asyncio.Semaphore(bound)
        self._thread = threading.Thread(
            target=self._loop.run_forever, name="conformance-cases", daemon=True
        )
        self._thread.start()

    def submit(self, make: Callable[[], Awaitable[T]]) -> concurrent.futures.Future[T]:
        """Run `make()` once a slot is free; slots are granted in submission order."""

        async def guarded() -> T:
            async with self._slots:
                return await make()

        return asyncio.run_coroutine_threadsafe(guarded(), self._loop)

    def close(self, timeout: float = 10.0) -> None:
        """Cancel every task still pending, let them unwind (sockets closed), stop the loop."""
        if self._loop.is_closed():
            return

        async def cancel_all() -> None:
            tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            for task in tasks:
                task.cancel()
            if tasks:
                await asyncio.wait(tasks, timeout=timeout)

        done = asyncio.run_coroutine_threadsafe(cancel_all(), self._loop)
        # a task that will not unwind: the daemon thread goes with the process
        with contextlib.suppress(
            concurrent.futures.TimeoutError, concurrent.futures.CancelledError
        ):
            done.result(timeout + 1.0)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout)
        if not self._thread.is_alive():
            self._loop.close()
