"""A whole turn against the reference server."""

from __future__ import annotations

from tests.conftest import PeerFactory, ServerFactory, chunks, fixture_audio, session_update


async def test_turn(reference: ServerFactory, peer: PeerFactory) -> None:
    """A turn runs end to end."""
    url = await reference()
    sender = await peer(url, "sender", role="sender")
    await sender.emit("session.update", session_update("chain"))
    updated = await sender.wait_for("session.updated", 5)
    receiver = await peer(url, "receiver", role="receiver", sessionId=updated.payload["sessionId"])
    for c in chunks(fixture_audio(), 4000):
        await sender.emit("input.buffer.append", c)
    await sender.emit("input.buffer.commit")
    done = await sender.wait_for("request.transcribe.done", 5)
    text = await receiver.wait_for("response.text", 5)
    last = await receiver.wait_for(
        lambda e: e.event == "response.audio.delta" and e.payload["done"], 10
    )
    print(done.payload, text.payload, last.payload["id"])
    for e in sender.transcript.events:
        print(round(e.at, 3), e.socket, e.direction, e.event)
