"""Text turns: a text message is answered, and every server message has the documented shape."""

from __future__ import annotations

from conformance.engine.context import CaseContext
from conformance.engine.model import Level
from conformance.protocols.chatmode.cases.common import (
    CATALOGUE,
    CLIENT,
    SEED,
    answered,
    scenario,
    text_turn,
    valid,
)
from conformance.protocols.chatmode.client import run_turn

AREA = CATALOGUE.area("text turn", source=SEED)


@AREA.case(
    "CM-TXT-001",
    title="A text message is answered",
    clause="A text message gets an incoming message with the answer.",
    level=Level.MUST,
)
async def text_answered(ctx: CaseContext) -> None:
    answered(ctx, await text_turn(ctx))


@AREA.case(
    "CM-TXT-002",
    title="Server messages are {type, content, fileUrl?, timestamp?}",
    clause="Every server message is {type: system|incoming|event, content, fileUrl?, timestamp?}.",
    level=Level.MUST,
    source=CLIENT,
)
async def server_messages_valid(ctx: CaseContext) -> None:
    t = await text_turn(ctx)
    if not t.received:
        ctx.fail("no server message to judge", expected="at least the answer", observed="nothing")
    for event in t.received:
        if event.event not in ("close", "refused"):
            valid(ctx, "server.message", event.payload)


@AREA.case(
    "CM-TXT-003",
    title="Nothing after the answer but events",
    clause="No event follows the incoming answer of the same turn (the order is not "
    "documented; informational).",
    level=Level.MAY,
    source=CLIENT,
)
async def order(ctx: CaseContext) -> None:
    t = await text_turn(ctx)
    kinds = [e.event for e in t.received]
    ctx.check(
        "incoming" not in kinds or "event" not in kinds[kinds.index("incoming") :],
        "an event came after the answer",
        expected="events, then incoming",
        observed=" → ".join(kinds),
    )


@AREA.case(
    "CM-TXT-004",
    title="The optional session field is accepted",
    clause="A text message with the optional `session` field is answered.",
    level=Level.MUST,
)
async def with_session(ctx: CaseContext) -> None:
    t = await scenario(
        ctx, "text+session", lambda env: run_turn(env, "text", session="session-identifier")
    )
    answered(ctx, t)
