"""Isolation of chats, and the shape of every server message of the shared exchanges."""

from __future__ import annotations

from conformance.engine.context import CaseContext
from conformance.engine.model import Level
from conformance.engine.transcript import WireEvent
from conformance.protocols.evi.cases.common import (
    CATALOGUE,
    SDK,
    heads,
    played,
    seed,
    shown,
    valid,
)
from conformance.protocols.evi.client import fields, message_events
from conformance.protocols.evi.events import SDK_REQUIRED, SDK_SERVER

CHAT = seed("chat_metadata.chat_id")


ISOLATION = CATALOGUE.area(
    "isolation", source=f"{CHAT}; PROTOCOLS.md general readings (no effect on another session)"
)


@ISOLATION.case(
    "EVI-ISO-001",
    title="A chat's messages stay on its socket",
    clause="A chat's messages go to its own socket, never to another chat's.",
    level=Level.MUST,
)
async def no_leak(ctx: CaseContext) -> None:
    text = await played(ctx, "text")
    heard = message_events(text.heard)
    ctx.check(
        not heard,
        f"an idle chat got {len(heard)} messages while another chat had a turn",
        expected="nothing on the idle chat",
        observed=shown(heads(heard)),
    )


@ISOLATION.case(
    "EVI-ISO-002",
    title="Each chat has its own ids",
    clause="Two chats opened without resumption have different chat_ids (and chat_group_ids: "
    "SHOULD).",
    level=Level.MUST,
    source=CHAT,
)
async def own_ids(ctx: CaseContext) -> None:
    text = await played(ctx, "text")
    ids = [fields(text.chat.metadata), fields(text.bystander.metadata)]
    if not all(ids):
        ctx.blocked("a chat got no chat_metadata (see EVI-META-002)")
    for key, level in (("chat_id", Level.MUST), ("chat_group_id", Level.SHOULD)):
        ctx.check(
            ids[0].get(key) != ids[1].get(key),
            f"two chats share the {key} {ids[0].get(key)!r}",
            expected=f"a {key} of each chat's own",
            observed=shown(ids),
            level=level,
        )


async def _messages(ctx: CaseContext) -> list[WireEvent]:
    """Every server message of the text, assistant_input, tool and interruption exchanges."""
    text = await played(ctx, "text")
    said = await played(ctx, "assistant-input")
    events = [*text.chat.messages, *text.bystander.messages, *said.chat.messages]
    capabilities = ctx.profile.section("capabilities")
    if capabilities.get("tools"):
        rounds = await played(ctx, "tools")
        for r in rounds.values():
            events += [*r.call.events, *(r.answer.events if r.answer else [])]
    if capabilities.get("interruption"):
        events += (await played(ctx, "interrupt")).events
    return [e for e in events if e.event != "close"]


MESSAGES = CATALOGUE.area("messages", source=seed("JsonMessage", "audio_output", "assistant_end"))


@MESSAGES.case(
    "EVI-MSG-001",
    title="Every server message is well-formed",
    clause="Every server message is valid against its type's schema (the seed's definitions).",
    level=Level.MUST,
)
async def schema_valid(ctx: CaseContext) -> None:
    for event in await _messages(ctx):
        valid(ctx, event)


@MESSAGES.case(
    "EVI-MSG-002",
    title="The newest SDK parses every message",
    clause="Every server message has a type the newest SDK parses and the fields it requires "
    "beyond the seed (assistant_message.is_quick_response, tool_call.tool_type): clients "
    "built on it reject the message otherwise.",
    level=Level.SHOULD,
    source=f"{SDK} SubscribeEvent",
)
async def sdk_parses(ctx: CaseContext) -> None:
    for event in await _messages(ctx):
        ctx.check(
            event.event in SDK_SERVER,
            f"a message of type {event.event!r}, which the SDK does not know",
            expected=f"one of {', '.join(sorted(SDK_SERVER))}",
            observed=shown(heads([event])),
        )
        payload = fields(event)
        missing = [f for f in SDK_REQUIRED.get(event.event, ()) if f not in payload]
        ctx.check(
            not missing,
            f"{event.event} lacks {', '.join(missing)}",
            expected=f"{event.event} with {', '.join(SDK_REQUIRED.get(event.event, ()))}",
            observed=shown(heads([event])),
        )
