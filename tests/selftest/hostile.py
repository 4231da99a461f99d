"""Small hostile MetaHuman servers: what a broken build looks like from the suite's side.

Each is a few lines of python-socketio; the selftests run the whole catalogue against them
with the built-in profile, as a CI gate pointed at a broken build would, and require FAILED
verdicts naming the clause, exit 1, the reports, and an end within a minute.
`python -m tests.selftest.hostile NAME` serves one on a free port (for measuring by hand).
"""

from __future__ import annotations

import asyncio
import sys
import uuid
from collections.abc import Callable
from typing import Any

import socketio
from aiohttp import web

__all__ = ["HOSTILE"]


def _server() -> tuple[socketio.AsyncServer, web.Application]:
    server = socketio.AsyncServer(async_mode="aiohttp")
    app = web.Application()
    server.attach(app)
    return server, app


def silent() -> web.Application:
    """Accepts every connection and never says a word."""
    return _server()[1]


def garbage() -> web.Application:
    """Answers every event with the right names and the wrong types."""
    server, app = _server()

    @server.on("session.update")  # type: ignore[untyped-decorator]
    async def update(sid: str, *args: Any) -> None:
        await server.emit("session.updated", {"sessionId": 42, "success": "yes"}, to=sid)

    @server.on("input.buffer.append")  # type: ignore[untyped-decorator]
    async def append(sid: str, *args: Any) -> None:
        await server.emit("input.buffer.initialized", "not an object", to=sid)

    @server.on("input.buffer.commit")  # type: ignore[untyped-decorator]
    async def commit(sid: str, *args: Any) -> None:
        await server.emit("request.transcribe.done", {"text": 7}, to=sid)
        await server.emit("response.text", [1, 2, 3])
        await server.emit("response.audio.delta", {"id": "zero", "done": True, "audio": None})
        await server.emit("custom.error", "boom", to=sid)

    return app


def never_done() -> web.Application:
    """Answers a turn well but never sends the delta with `done: true`: the stream stalls."""
    server, app = _server()

    @server.on("connect")  # type: ignore[untyped-decorator]
    async def connect(sid: str, environ: Any, auth: Any = None) -> None:
        session = auth.get("sessionId") if isinstance(auth, dict) else None
        await server.enter_room(sid, str(session or uuid.uuid5(uuid.NAMESPACE_OID, sid)))

    def session_of(sid: str) -> str:
        return str(next(r for r in server.rooms(sid) if r != sid))

    @server.on("session.update")  # type: ignore[untyped-decorator]
    async def update(sid: str, *args: Any) -> None:
        await server.emit("session.updated", {"sessionId": session_of(sid), "success": True}, sid)

    @server.on("input.buffer.commit")  # type: ignore[untyped-decorator]
    async def commit(sid: str, *args: Any) -> None:
        await server.emit("request.transcribe.done", {"text": "hi", "language": "en-US"}, sid)
        room = session_of(sid)
        await server.emit("response.text", {"text": "Hello there."}, room=room)
        delta = {"text": "Hello there.", "audio": "", "isBase64": True, "totalNumber": 0}
        for id in (0, 1):
            await server.emit(
                "response.audio.delta",
                {**delta, "id": id, "done": False, "streamPartDone": False},
                room=room,
            )

    return app


HOSTILE: dict[str, Callable[[], web.Application]] = {
    "silent": silent,
    "garbage": garbage,
    "never-done": never_done,
}


if __name__ == "__main__":  # pragma: no cover - a tool for measuring by hand
    from conformance.hosting import serve_until_stopped

    asyncio.run(
        serve_until_stopped(
            HOSTILE[sys.argv[1]](), "127.0.0.1", 0, lambda url: print(url, flush=True)
        )
    )
