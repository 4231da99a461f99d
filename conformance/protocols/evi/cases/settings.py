"""session_settings: as a message, as query parameters, and custom_session_id."""

from __future__ import annotations

from conformance.engine.context import CaseContext
from conformance.engine.model import Level
from conformance.protocols.evi.cases.audio import heard, transcribed
from conformance.protocols.evi.cases.common import (
    CATALOGUE,
    CUSTOM_SESSION_ID,
    OPEN,
    READING_DEFAULT,
    SDK,
    answered,
    heads,
    played,
    seed,
    shown,
    valid,
)
from conformance.protocols.evi.client import fields
from conformance.protocols.evi.events import Client, Server

AREA = CATALOGUE.area(
    "settings",
    source=f"{seed('session_settings', 'Context')}; PROTOCOLS.md general readings (refusal)",
)


@AREA.case(
    "EVI-SET-001",
    title="Session settings are taken",
    clause="A session_settings with system_prompt, context, variables, metadata and "
    "custom_session_id is taken without a malformed answer (a well-formed error refusing what "
    "the server lacks is no violation), and the chat goes on.",
    level=Level.MUST,
)
async def settings_taken(ctx: CaseContext) -> None:
    said = await played(ctx, "assistant-input")
    for event in said.settings_reply:
        if event.event == "close":
            ctx.fail(
                "the socket closed after session_settings",
                expected="the chat goes on",
                observed=shown(heads(said.settings_reply)),
            )
        if event.event == Server.ERROR:
            ctx.note(f"session_settings was refused in part: {shown(event.payload)}")
        valid(ctx, event)
    answered(ctx, said.turn, "the assistant_input after session_settings")


@AREA.case(
    "EVI-SET-002",
    title="Settings as query parameters",
    clause="session_settings[...] query parameters in bracket notation mean what a "
    "session_settings message sent first means: linear16 declared there is understood.",
    level=Level.SHOULD,
    source=f"{SDK} connect(session_settings=...): session_settings[audio][encoding]=linear16",
)
async def query_settings(ctx: CaseContext) -> None:
    transcribed(ctx, await heard(ctx, "query"))


@AREA.case(
    "EVI-SET-003",
    title="custom_session_id comes back",
    clause="Once session_settings sets custom_session_id, the server's messages carry it.",
    level=Level.SHOULD,
    source=f"{seed('session_settings.custom_session_id')} (responses will include this ID)",
)
async def custom_session_id(ctx: CaseContext) -> None:
    said = await played(ctx, "assistant-input")
    turn = answered(ctx, said.turn, "the assistant_input after session_settings")
    for event in turn.events:
        payload = fields(event)
        ctx.check(
            payload.get("custom_session_id") == CUSTOM_SESSION_ID,
            f"{event.event} does not carry the custom_session_id set",
            expected=f"custom_session_id: {CUSTOM_SESSION_ID!r}",
            observed=shown({k: v for k, v in payload.items() if k != "data"}),
        )


@AREA.case(
    "EVI-SET-004",
    title="session_settings is not answered",
    clause="A session_settings the server takes is not acknowledged ([default]; open: a server "
    "may echo it back, as the newest SDK's union allows; informational).",
    level=Level.MAY,
    source=f"{READING_DEFAULT} session_settings; {OPEN} echo",
)
async def not_echoed(ctx: CaseContext) -> None:
    said = await played(ctx, "assistant-input")
    echoes = [e for e in said.settings_reply if e.event == Client.SESSION_SETTINGS]
    ctx.check(
        not echoes,
        "session_settings was echoed back",
        expected="no answer to session_settings",
        observed=shown(heads(said.settings_reply)),
    )
