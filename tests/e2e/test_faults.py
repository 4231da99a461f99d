"""Every fault of the reference server is observable on the wire, and absent without it.

Each observation runs against a clean server (it must see nothing) and against the server
with the fault (it must see the defect): the pairing that keeps the faults honest.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from conformance import audio
from conformance.protocols.metahuman.load import LOAD_KILL_MATRIX
from conformance.protocols.metahuman.reference.faults import FAULTS
from tests.conftest import PeerFactory, ServerFactory, session_update
from tests.e2e.turns import Turn, configure, delta_audio, joins_unknown_session, turn

Observation = Callable[[str, PeerFactory], Awaitable[bool]]
OBSERVATIONS: dict[str, Observation] = {}
# Faults only concurrency shows are observed under load (tests/e2e/test_load_faults.py).
ONE_SESSION = sorted(set(FAULTS) - set(LOAD_KILL_MATRIX))


def observes(name: str) -> Callable[[Observation], Observation]:
    """Register an observation of one fault."""

    def register(observation: Observation) -> Observation:
        OBSERVATIONS[name] = observation
        return observation

    return register


def observes_turn(name: str, predicate: Callable[[Turn], bool], **flags: Any) -> None:
    """Register an observation that is a predicate over one chain turn."""

    async def over_turn(url: str, peer: PeerFactory) -> bool:
        return predicate(await turn(url, peer, **flags))

    OBSERVATIONS[name] = over_turn


def _ids(t: Turn) -> list[int]:
    return [d["id"] for d in t.deltas]


def _decodes(data: bytes) -> bool:
    try:
        audio.decode(data)
    except audio.AudioDecodeError:
        return False
    return True


observes_turn("delta-ids-from-one", lambda t: sorted(_ids(t)) != list(range(len(t.deltas))))
observes_turn("done-on-every-delta", lambda t: sum(d["done"] for d in t.deltas) > 1)
observes_turn("wrong-total-number", lambda t: t.deltas[-1]["totalNumber"] != len(t.deltas))
observes_turn("duplicate-delta", lambda t: len(set(_ids(t))) != len(t.deltas))
observes_turn("missing-delta", lambda t: len(t.deltas) != t.deltas[-1]["totalNumber"])
observes_turn("unordered-deltas", lambda t: _ids(t) != sorted(_ids(t)))
observes_turn("missing-stream-part-done", lambda t: not any(d["streamPartDone"] for d in t.deltas))
observes_turn(
    "delta-text-mismatch",
    lambda t: " ".join(d["text"] for d in sorted(t.deltas, key=lambda d: d["id"])) != t.text,
)
observes_turn("corrupt-audio", lambda t: not all(_decodes(delta_audio(d)) for d in t.deltas))
observes_turn(
    "truncated-audio",
    # The clean server speaks about 15 characters a second; a fifth of that is not speech.
    lambda t: (
        not all(
            _decodes(delta_audio(d))
            and audio.duration_ms(audio.decode(delta_audio(d))) > 1000 * len(d["text"]) / 75
            for d in t.deltas
        )
    ),
)
observes_turn("format-switch", lambda t: len({audio.sniff(delta_audio(d)) for d in t.deltas}) > 1)
observes_turn(
    "is-base64-mismatch",
    lambda t: any(d["isBase64"] is not False for d in t.deltas),
    is_base64=False,
)
observes_turn(
    "session-id-changes",
    lambda t: any(
        e.payload["sessionId"] != t.session_id for e in t.sender.events("input.buffer.initialized")
    ),
)
observes_turn(
    "initialized-every-chunk", lambda t: len(t.sender.events("input.buffer.initialized")) > 1
)
observes_turn("no-initialized", lambda t: not t.sender.events("input.buffer.initialized"))
observes_turn("missing-language", lambda t: "language" not in t.transcribed)
observes_turn(
    "text-to-sender-only",
    lambda t: not t.receiver.events("response.text") or bool(t.sender.events("response.text")),
)


@observes("updated-id-not-uuid")
async def _updated_id_not_uuid(url: str, peer: PeerFactory) -> bool:
    sender = await peer(url, role="sender")
    session_id = await configure(sender, session_update())
    try:
        return str(uuid.UUID(session_id)) != session_id
    except ValueError:
        return True


@observes("slow-first-audio")
async def _slow_first_audio(url: str, peer: PeerFactory) -> bool:
    t = await turn(url, peer)
    text = t.receiver.events("response.text")[0]
    return t.delta_events[0].at - text.at > 1.0


@observes("stall-before-done")
async def _stall_before_done(url: str, peer: PeerFactory) -> bool:
    t = await turn(url, peer)
    return len(t.delta_events) >= 2 and t.delta_events[-1].at - t.delta_events[-2].at > 2.0


@observes("no-error-on-empty-commit")
async def _silent_empty_commit(url: str, peer: PeerFactory) -> bool:
    sender = await peer(url, role="sender")
    await configure(sender, session_update())
    await sender.emit("input.buffer.commit")
    try:
        await sender.wait_for("custom.error", 1.0)
    except TimeoutError:
        return True
    return False


@observes("disconnect-on-bad-update")
async def _disconnect_on_bad_update(url: str, peer: PeerFactory) -> bool:
    sender = await peer(url, role="sender")
    await sender.emit("session.update", {"STT": "nonsense"})
    await asyncio.sleep(0.5)
    return not sender.connected


@observes("error-without-error-id")
async def _error_without_id(url: str, peer: PeerFactory) -> bool:
    sender = await peer(url, role="sender")
    await sender.emit("input.buffer.commit")
    error = await sender.wait_for("custom.error", 2.0)
    return "errorId" not in error.payload


@observes("disconnect-on-malformed-payload")
async def _disconnect_on_malformed_payload(url: str, peer: PeerFactory) -> bool:
    # Events other than session.update (which disconnect-on-bad-update covers), each on its
    # own configured socket: a chunk that is not a string, a commit that carries a payload.
    senders = []
    for name, event, payload in [
        ("append-object", "input.buffer.append", {"chunk": "AAAA"}),
        ("append-number", "input.buffer.append", 42),
        ("commit-payload", "input.buffer.commit", {"now": True}),
    ]:
        sender = await peer(url, name, role="sender")
        await configure(sender, session_update())
        await sender.emit(event, payload)
        senders.append(sender)
    await asyncio.sleep(0.5)
    return not any(sender.connected for sender in senders)


@observes("session-crash-on-invalid-base64")
async def _session_crash_on_invalid_base64(url: str, peer: PeerFactory) -> bool:
    sender = await peer(url, role="sender")
    await configure(sender, session_update())
    after = len(sender.received)
    await sender.emit("input.buffer.append", "%%% not base64 %%%")
    await sender.emit("session.update", session_update())
    await sender.emit("input.buffer.commit")
    await asyncio.sleep(1.0)
    # Dead: still connected, yet neither the bad chunk nor the later events got any answer.
    return sender.connected and not sender.received[after:]


@observes("silently-drop-bad-message")
async def _silently_drop_bad_message(url: str, peer: PeerFactory) -> bool:
    sender = await peer(url, role="sender")
    await sender.emit("input.buffer.commit")  # before session.update
    await sender.emit("no.such.event", {})
    await configure(sender, session_update())  # valid input still works
    await sender.emit("input.buffer.append", "%%% not base64 %%%")
    await sender.emit("input.buffer.commit")  # empty buffer
    await asyncio.sleep(1.0)
    return not sender.events("custom.error") and bool(sender.events("session.updated"))


@observes("error-wrong-shape")
async def _error_wrong_shape(url: str, peer: PeerFactory) -> bool:
    sender = await peer(url, role="sender")
    await sender.emit("input.buffer.commit")
    error = await sender.wait_for("custom.error", 2.0)
    return set(error.payload) == {"error", "code"} and isinstance(error.payload["code"], str)


@observes("accept-unknown-receiver")
async def _accept_unknown_receiver(url: str, peer: PeerFactory) -> bool:
    return await joins_unknown_session(url, peer)


@observes("leak-to-other-session")
async def _leak(url: str, peer: PeerFactory) -> bool:
    other_sender = await peer(url, "other-sender", role="sender")
    other_id = await configure(other_sender, session_update())
    bystander = await peer(url, "other-receiver", role="receiver", sessionId=other_id)
    await turn(url, peer)
    return bool(bystander.received[1:])  # anything after its own connect


def test_every_fault_has_an_observation() -> None:
    """The table of observations covers exactly the single-session faults (at least 15)."""
    assert set(OBSERVATIONS) == set(ONE_SESSION)
    assert len(ONE_SESSION) >= 15


@pytest.mark.parametrize("name", ONE_SESSION)
async def test_fault_is_observable(name: str, reference: ServerFactory, peer: PeerFactory) -> None:
    """The defect is seen with the fault, and not seen on the clean server."""
    observe = OBSERVATIONS[name]
    clean = await reference(slow_first_audio_s=1.5)
    assert not await observe(clean, peer), f"{name} observed on the clean server"
    faulty = await reference([name], slow_first_audio_s=1.5)
    assert await observe(faulty, peer), f"{name} not observed with the fault injected"
