"""Run asyncio coroutines from gevent greenlets: one asyncio loop on a native thread.

Locust monkey-patches the standard library with gevent, and the protocols' clients are
asyncio (aiohttp, python-socketio). They run unchanged on one event loop per process, on a
native thread of its own with the unpatched pieces it needs: the original selector (a patched
one would block on gevent's hub from a foreign thread), the original thread starter, and the
original getaddrinfo, called directly (the default executor's threads are patched and
deadlock, so a host name such as `localhost` would hang). Nothing on this loop may use an
executor. A greenlet hands the loop a coroutine and sleeps on a gevent async watcher (the one
gevent object another thread may signal) until the loop is done with it, so thousands of
users wait without polling.

Imported only by the locustfile: importing gevent here from `conformance` would change nothing
(it patches nothing by itself), but there is no need for it outside Locust.
"""

from __future__ import annotations

import asyncio
import selectors
from collections.abc import Coroutine
from typing import Any, TypeVar

import gevent
from gevent import monkey
from gevent.hub import Waiter

__all__ = ["LoopThread"]

T = TypeVar("T")


class _NativeLoop(asyncio.SelectorEventLoop):
    async def getaddrinfo(self, *args: Any, **kwargs: Any) -> Any:
        # Blocking, on the loop's own thread: only at connect time, and never the executor.
        return monkey.get_original("socket", "getaddrinfo")(*args, **kwargs)


class LoopThread:
    """The process's asyncio loop, on a native thread started at construction."""

    def __init__(self) -> None:
        selector: selectors.BaseSelector = monkey.get_original("selectors", "DefaultSelector")()
        self.loop = _NativeLoop(selector)
        start = monkey.get_original("_thread", "start_new_thread")
        start(self._run, ())

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.loop.run_forever()

    def call(self, coroutine: Coroutine[Any, Any, T]) -> T:
        """Run the coroutine on the loop; this greenlet (only it) waits for its outcome.

        If the greenlet is killed meanwhile (Locust stopping a user), the coroutine is
        cancelled on the loop.
        """
        hub = gevent.get_hub()
        watcher = hub.loop.async_()
        waiter = Waiter()
        watcher.start(waiter.switch, None)  # started before the loop can signal it
        tasks: list[asyncio.Task[T]] = []
        abandoned: list[bool] = []

        # Both run on the loop's thread, in the order they were handed over.
        def begin() -> None:
            if abandoned:
                coroutine.close()
                return
            task = self.loop.create_task(coroutine)
            task.add_done_callback(lambda _: watcher.send())  # the one thread-safe call
            tasks.append(task)

        def abandon() -> None:
            abandoned.append(True)
            for task in tasks:
                task.cancel()

        self.loop.call_soon_threadsafe(begin)
        try:
            waiter.get()
        except BaseException:
            self.loop.call_soon_threadsafe(abandon)
            raise
        finally:
            watcher.stop()
            watcher.close()
        return tasks[0].result()
