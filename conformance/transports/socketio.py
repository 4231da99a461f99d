"""A Socket.IO peer that records every event into a transcript and waits for events.

Network trouble raises `TransportError` (the harness's or the network's fault); a server that
refuses the handshake raises `Refused` with the CONNECT_ERROR payload (the server's answer).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Mapping
from typing import Any

import socketio

from conformance.engine.transcript import Direction, Transcript, WireEvent

__all__ = ["Refused", "SocketIOPeer", "TransportError"]


class TransportError(Exception):
    """The connection could not be made or was lost: not a verdict on the protocol."""


class Refused(Exception):
    """The server refused the handshake with a CONNECT_ERROR packet."""

    def __init__(self, payload: Any) -> None:
        super().__init__(f"connection refused: {payload!r}")
        self.payload = payload


class SocketIOPeer:
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
        self.url = url
        self.name = name
        self.transcript = transcript
        self.path = path.strip("/")
        self.namespace = namespace
        self.auth = dict(auth) if auth is not None else None
        self.headers = dict(headers or {})
        self.received: list[WireEvent] = []
        self._arrived = asyncio.Condition()
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
        self.transcript.record(self.name, Direction.SENT, event, args)
        try:
            await self._client.emit(
                event, args[0] if len(args) == 1 else args or None, namespace=self.namespace
            )
        except socketio.exceptions.BadNamespaceError:
            raise TransportError(f"{self.name} is not connected; cannot send {event}") from None

    async def wait_for(
        self,
        predicate: str | Callable[[WireEvent], bool],
        timeout: float,
        *,
        after: int = 0,
    ) -> WireEvent:
        """The first received event from index `after` on that matches; TimeoutError if none."""
        match = (lambda e: e.event == predicate) if isinstance(predicate, str) else predicate

        def found() -> WireEvent | None:
            return next((e for e in self.received[after:] if match(e)), None)

        async with self._arrived:
            await asyncio.wait_for(self._arrived.wait_for(lambda: found() is not None), timeout)
        hit = found()
        assert hit is not None
        return hit

    def events(self, name: str) -> list[WireEvent]:
        return [e for e in self.received if e.event == name]

    async def close(self) -> None:
        with contextlib.suppress(Exception):  # already gone: closing is best effort
            await self._client.disconnect()
        await self._client.shutdown()

    async def _record(self, direction: Direction, event: str, args: tuple[Any, ...]) -> None:
        wire = self.transcript.record(self.name, direction, event, args)
        async with self._arrived:
            self.received.append(wire)
            self._arrived.notify_all()

    async def _on_event(self, event: str, *args: Any) -> None:
        await self._record(Direction.RECEIVED, event, args)

    async def _on_connect_error(self, *args: Any) -> None:
        # python-socketio also calls this when the transport itself fails to connect; only a
        # CONNECT_ERROR over an open Engine.IO connection is the server's refusal.
        if self._client.eio.state == "connected":
            self._refusal = args[0] if len(args) == 1 else args
        await self._record(Direction.RECEIVED, "connect_error", args)

    async def _on_disconnect(self, *args: Any) -> None:
        await self._record(Direction.RECEIVED, "disconnect", args)
