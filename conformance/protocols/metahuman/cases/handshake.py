"""Handshake: the roles, the Receiver's join by sessionId, and refused connections."""

from __future__ import annotations

import uuid

from conformance.engine.context import CaseContext, Env
from conformance.engine.model import Level
from conformance.protocols.metahuman.cases.common import (
    CATALOGUE,
    SEED_EXAMPLES,
    TRANSPORT_DEFAULT,
    arrived,
    shown,
    valid,
)
from conformance.protocols.metahuman.client import Connection, MetaHumanClient
from conformance.protocols.metahuman.events import Event, Role

AREA = CATALOGUE.area("handshake", source=TRANSPORT_DEFAULT)


async def _refusals(env: Env) -> dict[str, Connection]:
    """Receivers that must be refused: an unknown sessionId, and no sessionId at all."""
    async with MetaHumanClient(env) as client:
        return {
            "unknown": await client.attempt(Role.RECEIVER, "receiver-unknown", str(uuid.uuid4())),
            "absent": await client.attempt(Role.RECEIVER, "receiver-no-id", sessionId=None),
        }


@AREA.case(
    "MH-HS-001",
    title="A Sender connects",
    clause="A Sender connects with the handshake of its role (CONNECT auth {role: sender}).",
    level=Level.MUST,
)
async def sender_connects(ctx: CaseContext) -> None:
    async with MetaHumanClient(ctx) as client:
        connection = await client.attempt(Role.SENDER, "sender")
    ctx.check(
        connection.peer is not None,
        "the Sender's handshake was refused",
        expected="CONNECT accepted",
        observed=f"CONNECT_ERROR {shown(connection.refusal)}",
    )


@AREA.case(
    "MH-HS-002",
    title="A Receiver joins by sessionId",
    clause="A Receiver joins an existing session by its sessionId.",
    level=Level.MUST,
    requires={"receiver_join": True},
)
async def receiver_joins(ctx: CaseContext) -> None:
    async with MetaHumanClient(ctx) as client:
        sender = await client.connect(Role.SENDER, "sender")
        updated = arrived(
            ctx,
            await client.configure(sender, client.session_update()),
            Event.SESSION_UPDATED,
            ctx.timeouts.event,
            sender,
        )
        session_id = str((updated.payload or {}).get("sessionId", ""))
        connection = await client.attempt(Role.RECEIVER, "receiver", session_id)
    ctx.check(
        connection.peer is not None,
        f"a Receiver naming the session {session_id!r} was refused",
        expected="CONNECT accepted",
        observed=f"CONNECT_ERROR {shown(connection.refusal)}",
    )


@AREA.case(
    "MH-HS-003",
    title="An unknown sessionId is refused",
    clause="A Receiver naming a sessionId that no session has is refused (CONNECT_ERROR).",
    level=Level.MUST,
    requires={"receiver_join": True},
)
async def unknown_session_refused(ctx: CaseContext) -> None:
    refusals = await ctx.scenario("refusals", _refusals)
    ctx.check(
        refusals["unknown"].peer is None,
        "a Receiver naming an unknown sessionId was accepted: it could listen to nothing, or to "
        "another session",
        expected="CONNECT_ERROR",
        observed="CONNECT accepted",
    )


@AREA.case(
    "MH-HS-004",
    title="A refusal is CONNECT_ERROR {message, data}",
    clause="A refused connection is a CONNECT_ERROR packet whose payload is "
    "{message, data: {message, statusCode}}.",
    level=Level.MUST,
    source=f"{SEED_EXAMPLES} connect_error; PROTOCOLS.md §1 Transport [doc]",
    requires={"receiver_join": True},
)
async def refusal_shape(ctx: CaseContext) -> None:
    refusals = await ctx.scenario("refusals", _refusals)
    refused = [c for c in refusals.values() if c.peer is None]
    if not refused:
        ctx.blocked("the server refused no handshake, so no refusal to judge (see MH-HS-003)")
    for connection in refused:
        valid(ctx, Event.CONNECT_ERROR, connection.refusal)


@AREA.case(
    "MH-HS-005",
    title="A Receiver without sessionId is refused",
    clause="A Receiver that names no sessionId is refused.",
    level=Level.SHOULD,
    requires={"receiver_join": True},
)
async def receiver_without_session_refused(ctx: CaseContext) -> None:
    refusals = await ctx.scenario("refusals", _refusals)
    ctx.check(
        refusals["absent"].peer is None,
        "a Receiver with no sessionId was accepted",
        expected="CONNECT_ERROR",
        observed="CONNECT accepted",
    )
