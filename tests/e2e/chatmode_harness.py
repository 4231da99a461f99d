"""The Chat Mode harness of the e2e tests: the seed's messages, a reference server (`served`)
and a client of its HTTP routes and socket (`Client`, `ask`)."""

from __future__ import annotations

import base64
import contextlib
import json
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from typing import Any

import aiohttp

from conformance.fixtures import clip
from conformance.hosting import running
from conformance.protocols.chatmode.reference.server import reference_app

AVATAR = "avatar-id-123"
TIMEOUT_S = 20.0


def text_message(request: str | None = "Hello, how are you?", **changes: Any) -> dict[str, Any]:
    """The seed's text message, with fields changed (None removes one)."""
    message = {
        "avatar_id": AVATAR,
        "user_id": "user-123",
        "chat_type": "text",
        "language": "en",
        "request": request,
        "requestType": "text",
        "source": "conformance-tests",
        "isLive": False,
        "session": "session-identifier",
    }
    message.update(changes)
    return {k: v for k, v in message.items() if v is not None}


def voice_message(data: bytes, **changes: Any) -> dict[str, Any]:
    """The seed's audio message carrying `data`, with fields changed (None removes one)."""
    message = {
        "avatar_id": AVATAR,
        "user_id": "user-123",
        "chat_type": "voice",
        "language": "en",
        "requestType": "audio",
        "source": "conformance-tests",
        "isLive": False,
        "isPushToTalk": True,
        "file_base64_data": base64.b64encode(data).decode(),
        "session": "session-identifier",
    }
    message.update(changes)
    return {k: v for k, v in message.items() if v is not None}


def fixture(fmt: str, name: str = "hello_weather") -> bytes:
    return clip(name).files[fmt].read_bytes()


@dataclass(frozen=True, slots=True)
class Client:
    """A running reference server and an HTTP session to talk to it."""

    url: str
    http: aiohttp.ClientSession

    async def post_jwt(self, body: Any, *, raw: bool = False) -> tuple[int, Any]:
        data = body if raw else json.dumps(body)
        headers = {"Content-Type": "application/json"}
        async with self.http.post(f"{self.url}/jwt", data=data, headers=headers) as response:
            return response.status, await response.json()

    async def token(self, user_id: str = "user-123") -> str:
        status, body = await self.post_jwt({"user_id": user_id})
        assert status == 200, body
        return str(body["jwt"])

    async def connection(self, authorization: str | None) -> tuple[int, Any]:
        headers = {} if authorization is None else {"Authorization": authorization}
        async with self.http.get(f"{self.url}/connection", headers=headers) as response:
            return response.status, await response.json()

    @contextlib.asynccontextmanager
    async def socket(self, token: str | None) -> AsyncIterator[aiohttp.ClientWebSocketResponse]:
        params = {} if token is None else {"token": token}
        async with self.http.ws_connect(f"{self.url}/ws/chat", params=params) as ws:
            yield ws

    async def fetch(self, url: str) -> tuple[int, str, bytes]:
        async with self.http.get(url) as response:
            return response.status, response.content_type, await response.read()


@contextlib.asynccontextmanager
async def served(faults: Sequence[str] = (), **options: Any) -> AsyncIterator[Client]:
    async with running(reference_app(faults, **options)) as url, aiohttp.ClientSession() as http:
        yield Client(url, http)


async def reply(ws: aiohttp.ClientWebSocketResponse) -> dict[str, Any] | None:
    """The next server message that is not an event; None once the socket closes."""
    while True:
        msg = await ws.receive(timeout=TIMEOUT_S)
        if msg.type is not aiohttp.WSMsgType.TEXT:
            return None
        message = json.loads(msg.data)
        assert isinstance(message, dict)
        if message.get("type") != "event":
            return message


async def ask(ws: aiohttp.ClientWebSocketResponse, message: Any) -> dict[str, Any]:
    await ws.send_str(message if isinstance(message, str) else json.dumps(message))
    answer = await reply(ws)
    assert answer is not None, "the socket closed"
    return answer
