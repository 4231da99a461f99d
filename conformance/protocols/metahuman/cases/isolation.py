"""Isolation: a session's responses reach its Receivers and no one else's."""

from __future__ import annotations

import asyncio
import base64
import contextlib
from dataclasses import dataclass

from conformance.engine.context import CaseContext, Env
from conformance.engine.model import Blocked, Level
from conformance.protocols.metahuman.cases.common import CATALOGUE, TRANSPORT_DEFAULT, shown
from conformance.protocols.metahuman.client import MetaHumanClient, Mode, Turn, run_turn
from conformance.protocols.metahuman.events import Event, Role
from conformance.transports.base import TransportError

AREA = CATALOGUE.area(
    "isolation and security",
    source=f"{TRANSPORT_DEFAULT} (a Receiver joins a session by sessionId)",
)


@dataclass(slots=True)
class Bystander:
    turn: Turn
    heard: list[str]  # events the other session's Receiver got during the turn


async def _bystander(env: Env) -> Bystander:
    """Session B's Receiver listens while session A runs a turn."""
    async with MetaHumanClient(env) as client:
        other = await client.connect(Role.SENDER, "other-sender")
        answer = await client.configure(other, client.session_update())
        if answer is None or not isinstance(answer.payload, dict):
            env.recorder.notes.append("the bystander session could not be configured")
            return Bystander(turn=Turn(mode=Mode()), heard=[])
        session_id = str(answer.payload.get("sessionId"))
        joined = await client.attempt(Role.RECEIVER, "other-receiver", session_id)
        if joined.peer is None:  # the server's own failure, judged by MH-HS-002
            raise Blocked(
                f"a Receiver could not join session {session_id!r}, the id session.updated "
                f"gave ({joined.refusal!r}); see MH-HS-002"
            )
        listener = joined.peer
        start = len(listener.received)
        turn = await run_turn(env, Mode(response_type="chain"))
        await asyncio.sleep(env.timeouts.silence)
        return Bystander(turn=turn, heard=[e.event for e in listener.received[start:]])


@AREA.case(
    "MH-ISO-001",
    title="Responses stay in their session",
    clause="response.text and response.audio.delta go to the Receivers of their own session and "
    "no other.",
    level=Level.MUST,
    requires={"receiver_join": True},
)
async def no_leak(ctx: CaseContext) -> None:
    seen = await ctx.scenario("bystander", _bystander)
    if not seen.turn.deltas_done:
        ctx.blocked("session A's turn did not complete (see MH-DELTA-*)")
    leaked = [e for e in seen.heard if e in (Event.RESPONSE_TEXT, Event.RESPONSE_AUDIO_DELTA)]
    ctx.check(
        not leaked,
        f"another session's Receiver got {len(leaked)} response events of this session's turn",
        expected="nothing on the other session's Receiver",
        observed=shown(seen.heard),
    )


@dataclass(slots=True)
class Disturbed:
    turn: Turn


async def _disturbed(env: Env) -> Disturbed:
    """Session A sends garbage while session B runs a turn."""
    async with MetaHumanClient(env) as client:
        vandal = await client.connect(Role.SENDER, "vandal")

        async def vandalise() -> None:
            # A server may drop the vandal (a robustness fault MH-ERR-* judges); that is not
            # this case's concern, so the vandal stops quietly.
            with contextlib.suppress(TransportError):
                await _vandalise()

        async def _vandalise() -> None:
            await vandal.emit(Event.SESSION_UPDATE, {"STT": 1})
            await vandal.emit(Event.INPUT_BUFFER_COMMIT)
            await client.configure(vandal, client.session_update())
            for junk in ("%%%", base64.b64encode(b"\x00" * 2048).decode(), "", "=="):
                await vandal.emit(Event.INPUT_BUFFER_APPEND, junk)
            await vandal.emit(Event.INPUT_BUFFER_COMMIT)

        turn, _ = await asyncio.gather(run_turn(env, Mode()), vandalise())
        return Disturbed(turn=turn)


@AREA.case(
    "MH-ISO-002",
    title="Bad input in one session does not disturb another",
    clause="A session's turn completes while another session sends malformed input.",
    level=Level.MUST,
    source="PROTOCOLS.md §1 [default] custom.error catalogue (errors answer the socket that "
    "caused them)",
)
async def undisturbed(ctx: CaseContext) -> None:
    seen = await ctx.scenario("disturbed", _disturbed)
    ctx.check(
        seen.turn.deltas_done,
        "the turn did not complete while another session sent malformed input",
        expected="the whole turn, up to the delta with done true",
        observed="missing: " + ", ".join(seen.turn.missing),
    )
