"""What EVI's fuzz cases judge on any exchange: well-formed messages, an answered turn's end,
order and audio_output indexes, a chat opened by chat_metadata, a chat that still serves.
`fuzz.py` (one example) and `machine.py` (a sequence) share these oracles."""

from __future__ import annotations

import itertools
import json
from collections.abc import Mapping, Sequence
from functools import cache
from typing import Any

from conformance import schemas
from conformance.engine.context import Env
from conformance.engine.model import Level
from conformance.engine.transcript import WireEvent
from conformance.fuzz.judgement import Judgement, broken
from conformance.protocols.evi.client import LIFECYCLE, Chat, EviClient, Turn
from conformance.protocols.evi.events import ANSWER, SDK_SERVER, Client, Server
from conformance.transports.base import TransportError

__all__ = [
    "BEGUN",
    "LEAKS",
    "TOOL_PARAMETERS",
    "conformance",
    "head",
    "index_problem",
    "mapping",
    "opened",
    "probe",
    "probe_text",
    "turn_problem",
]

PROTOCOL = "evi"
# The profile's tool's input schema, stringified as session_settings.tools[].parameters wants.
TOOL_PARAMETERS = json.dumps(
    {"type": "object", "properties": {"location": {"type": "string"}}, "required": ["location"]}
)
# What another chat must never hear of this one (an error or a close may be its own timeout).
LEAKS = frozenset(
    {
        Server.USER_MESSAGE,
        Server.ASSISTANT_MESSAGE,
        Server.AUDIO_OUTPUT,
        Server.ASSISTANT_END,
        Server.USER_INTERRUPTION,
        Server.TOOL_CALL,
    }
)
BEGUN = (*ANSWER, Server.ASSISTANT_END, Server.TOOL_CALL)  # an answer under way


def conformance(events: Sequence[WireEvent]) -> Judgement | None:
    """The server messages among `events` judged: a frame that is not a JSON object with a
    `type`, or a message that violates its type's schema, is malformed (MUST); a type the
    newest SDK does not know is a SHOULD (EVI-MSG-002's reading)."""
    unknown: Judgement | None = None
    for event in events:
        if event.event in LIFECYCLE:
            continue
        payload = event.payload
        if not isinstance(payload, Mapping) or not isinstance(payload.get("type"), str):
            return broken(f"a server frame is not a JSON object with a type: {payload!r:.120}")
        if event.event in _schemas():
            violations = schemas.errors(PROTOCOL, event.event, payload)
            if violations:
                first = violations[0]
                return broken(
                    f"{event.event} violates its schema at {first.path or '/'}: "
                    f"{first.message} ({head(payload)!r:.160})"
                )
        elif event.event not in SDK_SERVER and unknown is None:
            unknown = Judgement(Level.SHOULD, f"a message of the unknown type {event.event!r}")
    return unknown


@cache
def _schemas() -> frozenset[str]:
    return frozenset(schemas.messages(PROTOCOL))


def mapping(value: Any) -> Mapping[str, Any]:
    """A message's payload as a mapping (empty when it is none)."""
    return value if isinstance(value, Mapping) else {}


def head(payload: Any) -> Any:
    """A message without its audio, for reasons."""
    if isinstance(payload, Mapping):
        return {k: v for k, v in payload.items() if k != "data"}
    return payload


def index_problem(payloads: Sequence[Mapping[str, Any]], scope: Any) -> str | None:
    """audio_output indexes in arrival order: strictly increasing within each id (in every
    reading), and 0..n-1 within each id or across the turn (profile audio_output.index; null:
    either)."""
    per_id: dict[str, list[Any]] = {}
    for payload in payloads:
        per_id.setdefault(str(payload.get("id")), []).append(payload.get("index"))
    for key, indexes in per_id.items():
        if any(not isinstance(i, int) for i in indexes) or any(
            b <= a for a, b in itertools.pairwise(indexes)
        ):
            return f"audio_output {key!r} came with indexes {indexes}: not strictly increasing"
    by_id = all(ix == list(range(len(ix))) for ix in per_id.values())
    by_turn = [p.get("index") for p in payloads] == list(range(len(payloads)))
    if {"per_id": by_id, "per_turn": by_turn}.get(str(scope), by_id or by_turn):
        return None
    return f"audio_output indexes {per_id} by id do not run 0..n-1 ({scope or 'either reading'})"


def turn_problem(env: Env, turn: Turn, what: str) -> str | None:
    """What is wrong with an answered turn (MUST): its end, the order, the indexes."""
    if turn.closed:
        return f"the server closed the socket during {what}"
    if turn.end is None:
        if turn.stalled:
            return f"{what}: its answer stopped with no assistant_end ({env.timeouts.stall:g} s)"
        return f"{what} got no assistant_end within {env.timeouts.turn.cited}"
    if turn.end.event == Server.ASSISTANT_END:
        after = turn.events[turn.events.index(turn.end) + 1 :]
        late = [e.event for e in after if e.event in ANSWER]
        if late:
            return f"{what}: {len(late)} {late[0]} of the turn came after its assistant_end"
    scope = env.profile.section("audio_output").get("index")
    problem = index_problem(turn.payloads(Server.AUDIO_OUTPUT), scope)
    return f"{what}: {problem}" if problem else None


def opened(chat: Chat, env: Env) -> str | None:
    """Why a chat opened with the profile's credentials is no chat; None when chat_metadata
    came first (the seed: the first message after the connection is established)."""
    if chat.peer is None:
        return f"a chat with the profile's credentials was refused: {chat.refusal!r}"
    first = chat.first
    if first is None:
        return f"no chat_metadata within {env.timeouts.event:g} s of opening a chat"
    if first.event != Server.CHAT_METADATA:
        return f"the first message of a chat was {first.event}, not chat_metadata"
    return None


async def probe(client: EviClient, chat: Chat) -> str | None:
    """A user_input must still be served: the answer (or a tool_call) begins, no error."""
    start = len(chat.live.received)
    try:
        await client.send(chat, Client.USER_INPUT, text=str(probe_text(client.env)))
    except TransportError:
        return "the socket was gone"
    ends = (*BEGUN, Server.ERROR, "close")
    answer = await client.wait(
        chat, lambda e: e.event in ends, client.env.timeouts.turn, after=start
    )
    if answer is None:
        return f"a user_input got no answer within {client.env.timeouts.turn:g} s"
    if answer.event == "close":
        return "the server closed it instead of answering a user_input"
    if answer.event == Server.ERROR:
        return f"a user_input was answered with an error: {answer.payload!r:.160}"
    judged = conformance(client.since(chat, start))
    return judged.reason if judged is not None and judged.breaks else None


def probe_text(env: Env) -> str:
    return str(env.profile.section("prompts").get("probe") or "Are you still there?")
