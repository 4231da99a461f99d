"""The WebSocket and HTTP transports against a small aiohttp server on 127.0.0.1."""

from __future__ import annotations

import pytest
from aiohttp import WSMsgType, web

from conformance.engine.transcript import Transcript
from conformance.hosting import running
from conformance.transports.base import Refused, TransportError
from conformance.transports.http import request
from conformance.transports.websocket import WebSocketPeer


def _app() -> web.Application:
    async def echo(req: web.Request) -> web.StreamResponse:
        if req.query.get("token") != "ok":
            raise web.HTTPUnauthorized()
        ws = web.WebSocketResponse()
        await ws.prepare(req)
        async for message in ws:
            if message.type == WSMsgType.TEXT:
                if message.data == "close":
                    await ws.close()
                elif message.data.startswith("{"):
                    await ws.send_str('{"type": "incoming", "content": "hi"}')
                else:
                    await ws.send_str("not json")
        return ws

    async def jwt(req: web.Request) -> web.Response:
        body = await req.json()
        return web.json_response({"you": body}, status=201)

    app = web.Application()
    app.router.add_get("/ws", echo)
    app.router.add_post("/jwt", jwt)
    return app


async def test_websocket_records_and_waits() -> None:
    """JSON messages are recorded under their type (a sent one under the name the protocol's
    `label` gives it), other text as "text", and a close."""
    transcript = Transcript()
    async with running(_app()) as url:
        peer = WebSocketPeer(
            f"{url.replace('http', 'ws')}/ws?token=ok",
            name="user",
            transcript=transcript,
            label=lambda message: str(message.get("chat_type", "message")),
        )
        await peer.connect()
        await peer.send_json({"chat_type": "text"})
        answer = await peer.wait_for("incoming", 2)
        assert answer.payload == {"type": "incoming", "content": "hi"}
        await peer.send_text("plain")
        assert (await peer.wait_for("text", 2)).payload == "not json"
        await peer.send_text("close")
        await peer.wait_for("close", 2)
        assert not peer.connected
        with pytest.raises(TransportError):
            await peer.send_json({"chat_type": "text"})
        await peer.close()
    assert [e.event for e in transcript.events][:3] == ["connect", "connect", "text"]


async def test_websocket_refusal_and_unreachable() -> None:
    """An HTTP error on the upgrade is Refused with its status; no server is a TransportError."""
    async with running(_app()) as url:
        peer = WebSocketPeer(
            f"{url.replace('http', 'ws')}/ws?token=bad", name="u", transcript=Transcript()
        )
        with pytest.raises(Refused) as refused:
            await peer.connect()
        assert refused.value.payload["status"] == 401
    gone = WebSocketPeer(url.replace("http", "ws") + "/ws", name="u", transcript=Transcript())
    with pytest.raises(TransportError):
        await gone.connect(timeout=1)


async def test_http_request_is_recorded() -> None:
    """A request and its answer land in the transcript; the answer keeps status and body."""
    transcript = Transcript()
    async with running(_app()) as url:
        answer = await request(
            "POST", f"{url}/jwt", transcript=transcript, json_body={"user_id": "a"}
        )
    assert answer.status == 201
    assert answer.json() == {"you": {"user_id": "a"}}
    assert [e.event for e in transcript.events] == ["POST /jwt", "HTTP 201"]


async def test_websocket_names_a_sent_message_by_its_type_by_default() -> None:
    """Without a protocol's `label`, a sent JSON object is named by its `type` (no protocol's
    own key is known to the transport), anything else "message"."""
    transcript = Transcript()
    async with running(_app()) as url:
        peer = WebSocketPeer(
            f"{url.replace('http', 'ws')}/ws?token=ok", name="user", transcript=transcript
        )
        await peer.connect()
        await peer.send_json({"type": "session_settings"})
        await peer.send_json({"chat_type": "text"})
        await peer.close()
    sent = [e.event for e in transcript.events if e.direction.value == "sent"]
    assert sent[1:] == ["session_settings", "message"]
