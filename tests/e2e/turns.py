"""One recorded turn against a server: what each socket received, for the e2e tests."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import uuid
from dataclasses import dataclass, field
from typing import Any

from conformance.engine.transcript import WireEvent
from conformance.transports.base import Refused
from conformance.transports.socketio import SocketIOPeer
from tests.conftest import PeerFactory, chunks, fixture_audio, session_update


async def joins_unknown_session(url: str, peer: PeerFactory) -> bool:
    """Whether a Receiver naming a sessionId no session has is let in (in its auth payload)."""
    try:
        await peer(url, "receiver", role="receiver", sessionId=str(uuid.uuid4()))
    except Refused:
        return False
    return True


@dataclass(slots=True)
class Turn:
    sender: SocketIOPeer
    receiver: SocketIOPeer
    session_id: str
    transcribed: dict[str, Any] = field(default_factory=dict)
    text: str = ""
    deltas: list[dict[str, Any]] = field(default_factory=list)  # in arrival order
    delta_events: list[WireEvent] = field(default_factory=list)


def delta_audio(delta: dict[str, Any]) -> bytes:
    """The audio bytes of a delta: base64 text or a binary attachment."""
    value = delta["audio"]
    return value if isinstance(value, bytes) else base64.b64decode(str(value))


async def configure(sender: SocketIOPeer, update: dict[str, Any]) -> str:
    """Send session.update and return the sessionId of session.updated."""
    after = len(sender.received)
    await sender.emit("session.update", update)
    updated = await sender.wait_for("session.updated", 5, after=after)
    return str(updated.payload["sessionId"])


REST_S = 3.0  # after `done`, how long the deltas its totalNumber still owes may take


async def deltas_until_done(
    receiver: SocketIOPeer, after: int = 0, timeout: float = 15
) -> list[WireEvent]:
    """The deltas received until the one with `done` true and, after it, until as many as the
    deltas' own totalNumber says have come (each awaited, not a fixed window: a busy machine
    delays the last ones), plus stragglers for 100 ms."""

    def deltas() -> list[WireEvent]:
        return [e for e in receiver.received[after:] if e.event == "response.audio.delta"]

    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    await receiver.wait_for(
        lambda e: e.event == "response.audio.delta" and e.payload.get("done") is True,
        timeout,
        after=after,
    )
    # the rest, sent beside `done`, come promptly, busy machine or not
    deadline = min(deadline, loop.time() + REST_S)
    totals = [e.payload.get("totalNumber") for e in deltas()]
    total = max((n for n in totals if isinstance(n, int)), default=0)
    # a delta the server never sends (the missing-delta fault) ends the wait at the deadline
    with contextlib.suppress(TimeoutError):
        while len(deltas()) < total:
            await receiver.wait_for(
                "response.audio.delta", deadline - loop.time(), after=len(receiver.received)
            )
    await asyncio.sleep(0.1)
    return deltas()


async def turn(
    url: str,
    peer: PeerFactory,
    response_type: str = "chain",
    *,
    audio: bytes | None = None,
    chunk_size: int = 4096,
    **flags: Any,
) -> Turn:
    """Sender and Receiver on two sockets; one whole turn with the fixture speech."""
    sender = await peer(url, "sender", role="sender")
    session_id = await configure(sender, session_update(response_type, **flags))
    receiver = await peer(url, "receiver", role="receiver", sessionId=session_id)
    for chunk in chunks(audio if audio is not None else fixture_audio(), chunk_size):
        await sender.emit("input.buffer.append", chunk)
    await sender.emit("input.buffer.commit")
    transcribed = await sender.wait_for("request.transcribe.done", 10)
    events = await deltas_until_done(receiver)
    texts = receiver.events("response.text")
    return Turn(
        sender=sender,
        receiver=receiver,
        session_id=session_id,
        transcribed=transcribed.payload,
        text=texts[0].payload["text"] if texts else "",
        deltas=[e.payload for e in events],
        delta_events=events,
    )
