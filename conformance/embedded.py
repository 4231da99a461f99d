"""The embedded reference server: started in a thread of its own when no URL is given."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Sequence
from typing import Any

from aiohttp import web

from conformance import protocols
from conformance.hosting import running

__all__ = ["EmbeddedServer"]


class EmbeddedServer:
    """An aiohttp application on 127.0.0.1, a free port, in a daemon thread."""

    def __init__(self, app: web.Application) -> None:
        self.app = app
        self.url = ""
        self._ready = threading.Event()
        self._stop: asyncio.Event | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="embedded-server", daemon=True)

    @classmethod
    def reference(
        cls,
        protocol: str,
        faults: Sequence[str] = (),
        variants: Sequence[str] = (),
        **options: Any,
    ) -> EmbeddedServer:
        """The reference server of a protocol, with faults injected, variants served, and the
        plug-in's serve options (see its reference_app)."""
        options["variants"] = list(variants)
        return cls(protocols.plugin(protocol).reference_app(faults, options))

    def start(self, timeout: float = 30.0) -> str:
        self._thread.start()
        if not self._ready.wait(timeout):
            raise RuntimeError("the embedded server did not start")
        if self._error is not None:
            raise RuntimeError(f"the embedded server failed: {self._error}")
        return self.url

    def stop(self) -> None:
        if self._loop is not None and self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(10)

    def _run(self) -> None:
        try:
            asyncio.run(self._serve())
        except BaseException as exc:  # reported by start(); the thread must not die silently
            self._error = exc
            self._ready.set()

    async def _serve(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        async with running(self.app) as url:
            self.url = url
            self._ready.set()
            await self._stop.wait()
