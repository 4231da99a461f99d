"""Small hostile servers (MetaHuman, and one EVI): what a broken build looks like from the
suite's side.

Each is a few lines of python-socketio; the selftests run the whole catalogue against them
with the built-in profile, as a CI gate pointed at a broken build would, and require FAILED
verdicts naming the clause, exit 1, the reports, and an end within a minute.
`python -m tests.selftest.hostile NAME` serves one on a free port (for measuring by hand).
"""

from __future__ import annotations

import asyncio
import base64
import os
import sys
import uuid
from collections.abc import Callable
from typing import Any

import socketio
from aiohttp import WSMsgType, web

__all__ = ["CHILD_ONLY", "HOSTILE"]


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


def drops() -> web.Application:
    """Takes the connection, then drops it on the first event the client sends."""
    server, app = _server()

    @server.on("*")  # type: ignore[untyped-decorator]
    async def anything(event: str, sid: str, *args: Any) -> None:
        await server.disconnect(sid)

    return app


def evi_malformed() -> web.Application:
    """An EVI chat socket that opens with a malformed chat_metadata and answers every message
    with a malformed assistant_message (the right `type`, the wrong fields)."""

    async def chat(request: web.Request) -> web.WebSocketResponse:
        socket = web.WebSocketResponse()
        await socket.prepare(request)
        await socket.send_json({"type": "chat_metadata", "chat_id": 42, "chat_group_id": None})
        async for message in socket:
            if message.type is not WSMsgType.TEXT:
                break
            await socket.send_json({"type": "assistant_message", "message": "not an object"})
        return socket

    app = web.Application()
    app.router.add_get("/v0/evi/chat", chat)
    return app


def dying() -> web.Application:
    """The reference, but its process dies on a chunk that is not base64 (as a server whose
    decoder crashes takes its process along). Only ever served as a child process."""
    from conformance.protocols.metahuman.reference.server import ReferenceServer

    class Dying(ReferenceServer):
        async def _append(self, sid: str, peer: Any, *args: Any) -> None:
            chunk = args[0] if args else None
            if isinstance(chunk, str) and chunk:
                try:
                    base64.b64decode(chunk, validate=True)
                except ValueError:
                    os._exit(3)
            await super()._append(sid, peer, *args)

    return Dying().attach(web.Application())


HOSTILE: dict[str, Callable[[], web.Application]] = {
    "silent": silent,
    "garbage": garbage,
    "never-done": never_done,
    "drops": drops,
    "evi-malformed": evi_malformed,
}
# served as a child process only (`python -m tests.selftest.hostile NAME`): it ends its process
CHILD_ONLY: dict[str, Callable[[], web.Application]] = {"dying": dying}


if __name__ == "__main__":  # pragma: no cover - a tool for measuring by hand
    from conformance.hosting import serve_until_stopped

    asyncio.run(
        serve_until_stopped(
            {**HOSTILE, **CHILD_ONLY}[sys.argv[1]](),
            "127.0.0.1",
            0,
            lambda url: print(url, flush=True),
        )
    )
