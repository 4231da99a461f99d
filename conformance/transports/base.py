"""What every transport shares: its errors, and a mailbox of received events to wait on."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from typing import Any

from conformance.engine.model import HarnessError
from conformance.engine.transcript import Direction, Transcript, WireEvent

__all__ = ["Mailbox", "Refused", "TransportError"]


class TransportError(HarnessError):
    """The connection could not be made or was lost: not a verdict on the protocol (a harness
    or network failure, ERROR wherever a case meets it)."""


class Refused(Exception):
    """The server refused the handshake (its answer, judged by the cases)."""

    def __init__(self, payload: Any) -> None:
        super().__init__(f"connection refused: {payload!r}")
        self.payload = payload


class Mailbox:
    """One socket's received events, recorded into the case's transcript, and waits on them."""

    def __init__(self, name: str, transcript: Transcript) -> None:
        self.name = name
        self.transcript = transcript
        self.received: list[WireEvent] = []
        self._arrived = asyncio.Condition()
        self._last_arrival = 0.0  # loop time of the last received event
        self.ended = False  # the connection is over: nothing more can arrive

    async def wait_for(
        self,
        predicate: str | Callable[[WireEvent], bool],
        timeout: float,
        *,
        after: int = 0,
        stall: float | None = None,
        not_before: float = 0.0,
    ) -> WireEvent:
        """The first received event from index `after` on that matches; TimeoutError if none.

        With `stall`: once the socket has received anything from `after` on, the wait also
        ends when nothing more arrives for `stall` seconds (a stream that stopped), though
        never sooner than `not_before` seconds after it began (a first answer's own timeout).
        Once the connection has ended (`ended`), nothing more can come: the wait ends at once.
        """
        match = (lambda e: e.event == predicate) if isinstance(predicate, str) else predicate

        def found() -> WireEvent | None:
            return next((e for e in self.received[after:] if match(e)), None)

        loop = asyncio.get_running_loop()
        began = loop.time()
        deadline = began + timeout
        async with self._arrived:
            while (hit := found()) is None:
                limit = deadline
                if stall is not None and len(self.received) > after:
                    limit = min(limit, max(began + not_before, self._last_arrival + stall))
                left = limit - loop.time()
                if left <= 0 or self.ended:
                    raise TimeoutError
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._arrived.wait(), left)
        return hit

    def events(self, name: str) -> list[WireEvent]:
        return [e for e in self.received if e.event == name]

    def sent(self, event: str, args: tuple[Any, ...]) -> None:
        self.transcript.record(self.name, Direction.SENT, event, args)

    async def _end(self, event: str, args: tuple[Any, ...]) -> None:
        """The connection ended (the transport's own event: a disconnect, a close)."""
        await self._record(Direction.RECEIVED, event, args, ending=True)

    async def _record(
        self, direction: Direction, event: str, args: tuple[Any, ...], *, ending: bool = False
    ) -> None:
        wire = self.transcript.record(self.name, direction, event, args)
        async with self._arrived:
            self._last_arrival = asyncio.get_running_loop().time()
            self.received.append(wire)
            # with the event it ends on, under the same lock: a waiter never sees the end
            # without the event (it would give up on a close it was waiting for)
            self.ended = self.ended or ending
            self._arrived.notify_all()
