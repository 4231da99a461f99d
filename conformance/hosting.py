"""Run an aiohttp application on a host and port: for `conformance serve` and for tests."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import socket
from collections.abc import AsyncIterator, Callable
from urllib.parse import urlsplit

from aiohttp import web

__all__ = ["reachable", "running", "serve_until_stopped"]


@contextlib.asynccontextmanager
async def running(
    app: web.Application, host: str = "127.0.0.1", port: int = 0
) -> AsyncIterator[str]:
    """Serve `app` while the block runs; yields its base URL (port 0 picks a free port)."""
    runner = web.AppRunner(app, handle_signals=False, access_log=None)
    await runner.setup()
    try:
        site = web.TCPSite(runner, host, port)
        await site.start()
        bound_host, bound_port = runner.addresses[0][:2]
        shown = f"[{bound_host}]" if ":" in bound_host else bound_host
        yield f"http://{shown}:{bound_port}"
    finally:
        await runner.cleanup()


async def serve_until_stopped(
    app: web.Application, host: str, port: int, on_ready: Callable[[str], None]
) -> None:
    """Serve until SIGINT or SIGTERM; `on_ready` gets the URL once the port is bound."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    async with running(app, host, port) as url:
        on_ready(url)
        await stop.wait()


def reachable(url: str, timeout: float) -> str | None:
    """None when a TCP connection to the URL's host and port succeeds, else why not."""
    parts = urlsplit(url)
    if not parts.hostname:
        return f"{url} is not a URL with a host"
    port = parts.port or (443 if parts.scheme in ("https", "wss") else 80)
    try:
        with socket.create_connection((parts.hostname, port), timeout=timeout):
            return None
    except OSError as exc:
        return f"cannot reach {parts.hostname}:{port}: {exc.strerror or exc}"
