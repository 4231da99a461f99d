"""A plain WebSocket peer (JSON text messages), recorded like every other transport.

A JSON object is recorded under its `type` (a common key, protocol-neutral) or under what the
protocol's `label` names it; anything else under "text" or "binary". A handshake the server
answers with an HTTP error raises `Refused({"status", "body"})`; network trouble raises
`TransportError`.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Callable, Mapping
from typing import Any

import aiohttp

from conformance.engine.transcript import Direction, Transcript
from conformance.transports.base import Mailbox, Refused, TransportError

__all__ = ["WebSocketPeer", "by_type"]


def by_type(message: Any) -> str:
    """A message's name in the wire log: a JSON object's `type`, else "message"."""
    return str(message.get("type") or "message") if isinstance(message, Mapping) else "message"


class WebSocketPeer(Mailbox):
    def __init__(
        self,
        url: str,
        *,
        name: str,
        transcript: Transcript,
        headers: Mapping[str, str] | None = None,
        label: Callable[[Any], str] = by_type,
    ) -> None:
        super().__init__(name, transcript)
        self.url = url
        self.label = label  # how the protocol names a message it sends
        self.headers = dict(headers or {})
        self._session: aiohttp.ClientSession | None = None
        self._ws: aiohttp.ClientWebSocketResponse | None = None
        self._reader: asyncio.Task[None] | None = None

    @property
    def connected(self) -> bool:
        return self._ws is not None and not self._ws.closed

    async def connect(self, timeout: float = 5.0) -> None:
        self.sent("connect", ())
        self._session = aiohttp.ClientSession()
        try:
            self._ws = await self._session.ws_connect(
                self.url,
                headers=self.headers,
                timeout=aiohttp.ClientWSTimeout(ws_receive=None, ws_close=timeout),
                max_msg_size=64 << 20,
            )
        except aiohttp.WSServerHandshakeError as exc:
            await self.close()
            await self._record(Direction.RECEIVED, "refused", ({"status": exc.status},))
            raise Refused({"status": exc.status, "message": exc.message}) from None
        except (aiohttp.ClientError, OSError, TimeoutError) as exc:
            await self.close()
            raise TransportError(f"cannot connect to {self.url}: {exc}") from None
        await self._record(Direction.RECEIVED, "connect", ())
        self._reader = asyncio.create_task(self._read(self._ws))

    async def send_json(self, message: Any) -> None:
        """Send one JSON message, recorded under the name the protocol's `label` gives it."""
        await self._send(self.label(message), json.dumps(message), (message,))

    async def send_text(self, text: str) -> None:
        """Send raw text (for malformed input)."""
        await self._send("text", text, (text,))

    async def _send(self, label: str, text: str, args: tuple[Any, ...]) -> None:
        self.sent(label, args)
        if self._ws is None or self._ws.closed:
            raise TransportError(f"{self.name} is not connected; cannot send {label}")
        try:
            await self._ws.send_str(text)
        except (aiohttp.ClientError, ConnectionError, RuntimeError) as exc:
            raise TransportError(f"{self.name} lost its connection: {exc}") from None

    async def _read(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        async for message in ws:
            if message.type == aiohttp.WSMsgType.TEXT:
                try:
                    payload = json.loads(message.data)
                except json.JSONDecodeError:
                    await self._record(Direction.RECEIVED, "text", (message.data,))
                    continue
                event = str(payload.get("type")) if isinstance(payload, dict) else "json"
                await self._record(Direction.RECEIVED, event, (payload,))
            elif message.type == aiohttp.WSMsgType.BINARY:
                await self._record(Direction.RECEIVED, "binary", (message.data,))
        await self._end("close", (ws.close_code,))

    async def close(self) -> None:
        if self._ws is not None:
            with contextlib.suppress(Exception):  # already gone: closing is best effort
                await self._ws.close()
        if self._reader is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._reader, 2.0)
        if self._session is not None:
            await self._session.close()
