"""A Socket.IO peer that records every event into a transcript and waits for events.

Network trouble raises `TransportError` (the harness's or the network's fault); a server that
refuses the handshake raises `Refused` with the CONNECT_ERROR payload (the server's answer).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Mapping
from typing import Any

import socketio

from conformance.engine.transcript import Direction, Transcript
from conformance.transports.base import Mailbox, Refused, TransportError

__all__ = ["SocketIOPeer"]


class SocketIOPeer(Mailbox):
    """One socket of a case (for example the Sender or a Receiver)."""

    def __init__(
        self,
        url: str,
        *,
        name: str,
        transcript: Transcript,
        path: str = "socket.io",
        namespace: str = "/",
        auth: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(name, transcript)
        self.url = url
        self.path = path.strip("/")
        self.namespace = namespace
        self.auth = dict(auth) if auth is not None else None
        self.headers = dict(headers or {})
        self._refusal: Any = None
        self._client = socketio.AsyncClient(reconnection=False)
        self._client.on("*", self._on_event, namespace=namespace)
        self._client.on("connect_error", self._on_connect_error, namespace=namespace)
        self._client.on("disconnect", self._on_disconnect, namespace=namespace)

    @property
    def connected(self) -> bool:
        return bool(self._client.connected) and self.namespace in self._client.namespaces

    async def connect(self, timeout: float = 5.0) -> None:
        self.transcript.record(
            self.name, Direction.SENT, "connect", (self.auth,) if self.auth else ()
        )
        try:
            await asyncio.wait_for(
                self._client.connect(
                    self.url,
                    headers=self.headers,
                    auth=self.auth,
                    transports=["websocket"],
                    namespaces=[self.namespace],
                    socketio_path=self.path,
                    wait_timeout=timeout,
                ),
                timeout + 1.0,
            )
        except socketio.exceptions.ConnectionError as exc:
            if self._refusal is not None:
                raise Refused(self._refusal) from None
            raise TransportError(f"cannot connect to {self.url}: {exc}") from None
        except TimeoutError:
            await self.close()
            raise TransportError(f"no handshake from {self.url} within {timeout:g} s") from None
        await self._record(Direction.RECEIVED, "connect", ())

    async def emit(self, event: str, *args: Any) -> None:
        self.sent(event, args)
        try:
            await self._client.emit(
                event, args[0] if len(args) == 1 else args or None, namespace=self.namespace
            )
        except socketio.exceptions.BadNamespaceError:
            raise TransportError(f"{self.name} is not connected; cannot send {event}") from None

    async def close(self) -> None:
        with contextlib.suppress(Exception):  # already gone: closing is best effort
            await self._client.disconnect()
        await self._client.shutdown()

    async def _on_event(self, event: str, *args: Any) -> None:
        await self._record(Direction.RECEIVED, event, args)

    async def _on_connect_error(self, *args: Any) -> None:
        # python-socketio also calls this when the transport itself fails to connect; only a
        # CONNECT_ERROR over an open Engine.IO connection is the server's refusal.
        if self._client.eio.state == "connected":
            self._refusal = args[0] if len(args) == 1 else args
        await self._record(Direction.RECEIVED, "connect_error", args)

    async def _on_disconnect(self, *args: Any) -> None:
        await self._end("disconnect", args)
