"""The wire log of a case: every event sent and received, on which socket, and when."""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

__all__ = ["Direction", "Transcript", "WireEvent", "summarize", "wire_log"]


class Direction(StrEnum):
    SENT = "sent"
    RECEIVED = "received"


@dataclass(frozen=True, slots=True, kw_only=True)
class WireEvent:
    """One event on the wire; `at` is seconds since the transcript began (monotonic)."""

    at: float
    socket: str
    direction: Direction
    event: str
    args: tuple[Any, ...]

    @property
    def payload(self) -> Any:
        """The first argument, or None for an event without payload."""
        return self.args[0] if self.args else None


@dataclass(slots=True)
class Transcript:
    """Events in the order the harness saw them, across every socket of a case."""

    started: float = field(default_factory=time.monotonic)
    events: list[WireEvent] = field(default_factory=list)

    def record(
        self, socket: str, direction: Direction, event: str, args: tuple[Any, ...]
    ) -> WireEvent:
        wire = WireEvent(
            at=time.monotonic() - self.started,
            socket=socket,
            direction=direction,
            event=event,
            args=args,
        )
        self.events.append(wire)
        return wire

    def sent_on(self, socket: str) -> list[str]:
        """The events sent on the socket so far, by name (its handshake included)."""
        return [
            e.event for e in self.events if e.socket == socket and e.direction is Direction.SENT
        ]


def summarize(value: Any, limit: int = 80) -> Any:
    """A payload fit for a log: bytes and long strings shown by length and hash."""
    if isinstance(value, bytes):
        return f"<{len(value)} bytes sha256:{hashlib.sha256(value).hexdigest()[:12]}>"
    if isinstance(value, str) and len(value) > limit:
        digest = hashlib.sha256(value.encode()).hexdigest()[:12]
        return f"<{len(value)} chars sha256:{digest}>"
    if isinstance(value, dict):
        return {k: summarize(v, limit) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [summarize(v, limit) for v in value]
    return value


def wire_log(transcript: Transcript, label: str = "") -> list[dict[str, Any]]:
    """A transcript as report data, payloads summarized; `label` prefixes each socket's name
    (the scenario a case used)."""
    return [
        {
            "at": round(e.at, 4),
            "socket": f"{label}/{e.socket}" if label else e.socket,
            "direction": e.direction.value,
            "event": e.event,
            "payload": summarize(list(e.args) if len(e.args) != 1 else e.args[0]),
        }
        for e in transcript.events
    ]
