"""Tool use: a declared tool called, answered with tool_response or tool_error."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from conformance.engine.context import CaseContext, Env
from conformance.engine.model import Level
from conformance.protocols.evi.cases.common import (
    CATALOGUE,
    answered,
    exchange,
    heads,
    played,
    seed,
    shown,
    together,
    valid,
)
from conformance.protocols.evi.client import EviClient, Turn, fields
from conformance.protocols.evi.events import Client, Server

TOOLS = CATALOGUE.area(
    "tools", source=seed("session_settings.tools", "tool_call"), requires={"tools": True}
)
# The tool's input schema, stringified as session_settings.tools[].parameters wants it.
PARAMETERS = json.dumps(
    {
        "type": "object",
        "properties": {"location": {"type": "string", "description": "a city"}},
        "required": ["location"],
    }
)
RESULT = "Sunny, 22 degrees"


@dataclass(slots=True, kw_only=True)
class ToolRound:
    """A tool's call and the turn of what the client answered it with."""

    call: Turn
    answer: Turn | None = None  # None when no tool_call came to answer


def _tool(env: Env) -> dict[str, Any]:
    return {
        "type": "function",
        "name": str(env.profile.section("tools").get("name")),
        "parameters": PARAMETERS,
        "description": "The current weather in a city.",
        "fallback_content": "The weather service is unavailable.",
    }


async def _round(env: Env, client: EviClient, kind: str) -> ToolRound:
    chat = await client.open(kind)
    await client.settings(chat, tools=[_tool(env)])
    call = await client.tool_call(chat, str(env.profile.section("tools").get("prompt")))
    calls = call.payloads(Server.TOOL_CALL)
    if not calls:
        return ToolRound(call=call)
    ids = {"tool_call_id": calls[0].get("tool_call_id")}
    if kind == Client.TOOL_RESPONSE:
        fields = {
            **ids,
            "content": RESULT,
            "tool_name": calls[0].get("name"),
            "tool_type": "function",
        }
    else:
        fields = {
            **ids,
            "error": "the weather service is down",
            "code": "E_TOOL_DOWN",
            "level": "warn",
            "content": "The weather service is down.",
        }
    return ToolRound(call=call, answer=await client.tool_answer(chat, kind, **fields))


@exchange("tools")
async def tool_rounds(env: Env) -> dict[str, ToolRound]:
    """A tool_response round and a tool_error round, at once on two chats."""
    async with EviClient(env) as client:
        kinds = (Client.TOOL_RESPONSE, Client.TOOL_ERROR)
        rounds = await together(*(_round(env, client, kind) for kind in kinds))
        return dict(zip(kinds, rounds, strict=True))


async def _called(ctx: CaseContext, kind: str = Client.TOOL_RESPONSE) -> tuple[ToolRound, Any]:
    """The round and its tool_call; FAILED when the tool was not called."""
    rounds: dict[str, ToolRound] = await played(ctx, "tools")
    r = rounds[kind]
    calls = r.call.of(Server.TOOL_CALL)
    if not calls:
        ctx.fail(
            "a user_input asking for the declared tool got no tool_call",
            expected=f"tool_call naming {ctx.profile.section('tools').get('name')!r}",
            observed=shown(heads(r.call.events)),
        )
    return r, calls[0]


def _is_json(text: str) -> bool:
    try:
        json.loads(text)
    except ValueError:
        return False
    return True


@TOOLS.case(
    "EVI-TOOL-001",
    title="A declared tool is called",
    clause="A user_input asking for a tool declared in session_settings.tools gets a tool_call "
    "{name, parameters, tool_call_id, response_required} naming it.",
    level=Level.MUST,
)
async def tool_called(ctx: CaseContext) -> None:
    for kind in (Client.TOOL_RESPONSE, Client.TOOL_ERROR):
        _, call = await _called(ctx, kind)
        valid(ctx, call)
        payload = fields(call)
        name = ctx.profile.section("tools").get("name")
        ctx.check(
            payload.get("name") == name and bool(payload.get("tool_call_id")),
            f"the tool_call names {payload.get('name')!r}, not the declared {name!r}, or has no "
            "tool_call_id",
            expected=f"name: {name!r}, tool_call_id: a non-empty string",
            observed=shown(payload),
        )


@TOOLS.case(
    "EVI-TOOL-002",
    title="tool_call.parameters is stringified JSON",
    clause="tool_call.parameters is a string holding JSON (the call's arguments).",
    level=Level.MUST,
)
async def parameters_json(ctx: CaseContext) -> None:
    _, call = await _called(ctx)
    payload = fields(call)
    parameters = payload.get("parameters")
    ctx.check(
        isinstance(parameters, str) and _is_json(parameters),
        "tool_call.parameters is not stringified JSON",
        expected='a JSON string, e.g. "{\\"location\\": \\"Paris\\"}"',
        observed=shown(parameters),
    )


@TOOLS.case(
    "EVI-TOOL-003",
    title="tool_response is answered",
    clause="After a tool_response for the pending tool_call the assistant answers "
    "(assistant_message(s), then assistant_end).",
    level=Level.MUST,
    source=seed("session_settings.tools", "tool_response"),
)
async def response_answered(ctx: CaseContext) -> None:
    r, _ = await _called(ctx)
    answered(ctx, r.answer, "the tool_response")


@TOOLS.case(
    "EVI-TOOL-004",
    title="tool_error is answered",
    clause="After a tool_error for the pending tool_call the assistant still answers, with the "
    "error's content or the tool's fallback_content (assistant_message(s), then assistant_end).",
    level=Level.MUST,
    source=seed("session_settings.tools", "tool_error"),
)
async def error_answered(ctx: CaseContext) -> None:
    r, _ = await _called(ctx, Client.TOOL_ERROR)
    answered(ctx, r.answer, "the tool_error")
