"""An error for each bad input, and a chat still usable after it.

PROTOCOLS.md's readings for all protocols: accepting bad input the server can still serve
(lenient parsing) is at most NON-STRICT; what is never allowed is silence where an answer is
due, a dropped connection, a malformed answer, or a chat that no longer takes input (FAILED).
Some inputs are answered by nothing when a server takes them (session_settings, audio_input, a
tool_response): for those, silence is the lenient acceptance, NON-STRICT.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from conformance.engine.context import CaseContext, Env
from conformance.engine.model import Level
from conformance.engine.transcript import WireEvent
from conformance.protocols.evi.cases.common import (
    CATALOGUE,
    READING_DEFAULT,
    code_pinned,
    exchange,
    heads,
    played,
    prompt,
    seed,
    shown,
    together,
    valid,
)
from conformance.protocols.evi.client import Chat, EviClient
from conformance.protocols.evi.events import Client, Server
from conformance.transports.base import TransportError

READING = "PROTOCOLS.md general readings (after bad input)"
AREA = CATALOGUE.area("errors", source=f"{READING}; {READING_DEFAULT} errors; {seed('error')}")


@dataclass(frozen=True, slots=True, kw_only=True)
class Bad:
    """One bad input: what is sent, the error code's key, and whether a server that takes it
    answers nothing (so silence is lenient acceptance, not a silent session)."""

    number: int
    key: str  # the scenario's key and the error's slug in errors.codes
    title: str
    what: str  # the bad input, as a clause says it
    message: Any  # a JSON value, or a str sent as raw text
    silent_when_taken: bool = False
    requires: Mapping[str, Any] = field(default_factory=dict)


BAD = (
    Bad(
        number=1,
        key="invalid_json",
        title="Not JSON",
        what="A text message that is not JSON",
        message="this is not json {",
    ),
    Bad(
        number=2,
        key="unknown_message_type",
        title="An unknown type",
        what="A message of a type the protocol does not define",
        message={"type": "no_such_message"},
    ),
    Bad(
        number=3,
        key="invalid_message",
        title="A required field missing",
        what="A user_input without its required text",
        message={"type": Client.USER_INPUT},
    ),
    Bad(
        number=4,
        key="invalid_message",
        title="A field of the wrong type",
        what="A user_input whose text is a number",
        message={"type": Client.USER_INPUT, "text": 42},
    ),
    Bad(
        number=5,
        key="invalid_audio",
        title="audio_input that is not base64",
        what="An audio_input whose data is not base64",
        message={"type": Client.AUDIO_INPUT, "data": "%%% not base64 %%%"},
        silent_when_taken=True,
    ),
    Bad(
        number=6,
        key="unknown_tool_call",
        title="A tool_response for no tool_call",
        what="A tool_response naming a tool_call_id the server never issued",
        message={
            "type": Client.TOOL_RESPONSE,
            "tool_call_id": "no-such-tool-call",
            "content": "orphan result",
        },
        silent_when_taken=True,
        requires={"tools": True},
    ),
    Bad(
        number=7,
        key="invalid_session_settings",
        title="Invalid session_settings",
        what="A session_settings whose audio.sample_rate is not a number",
        message={
            "type": Client.SESSION_SETTINGS,
            "audio": {"encoding": "linear16", "channels": 1, "sample_rate": "sixteen thousand"},
        },
        silent_when_taken=True,
    ),
)


@dataclass(slots=True, kw_only=True)
class Answer:
    """What a bad input brought: the first reply, and whether the chat still took input."""

    reply: WireEvent | None = None  # the first message after the bad input, or the close
    closed: bool = False  # the server closed the socket after it
    usable: bool = False
    probe: list[WireEvent] = field(default_factory=list)


async def _send(chat: Chat, bad: Bad) -> None:
    if isinstance(bad.message, str):
        await chat.live.send_text(bad.message)
    else:
        await chat.live.send_json(bad.message)


async def _one(env: Env, client: EviClient, bad: Bad) -> Answer:
    chat = await client.open(bad.key + f"-{bad.number}")
    start = len(chat.live.received)
    await _send(chat, bad)
    answer = Answer(
        reply=await client.wait(chat, lambda e: True, client.env.timeouts.event, after=start)
    )
    if answer.reply is not None and answer.reply.event != "close":
        await client.settle(chat)
    answer.closed = any(e.event == "close" for e in client.since(chat, start))
    if answer.closed:
        return answer
    # The probe: a user_input must still be heard (its user_message).
    probe = len(chat.live.received)
    try:
        await client.send(chat, Client.USER_INPUT, text=str(prompt(env, "probe")))
    except TransportError:  # closed while the harness looked away: judged as a close
        answer.closed = True
        return answer
    heard = await client.wait(
        chat,
        lambda e: e.event in (Server.USER_MESSAGE, "close"),
        client.env.timeouts.event,
        after=probe,
    )
    answer.usable = heard is not None and heard.event == Server.USER_MESSAGE
    answer.probe = client.since(chat, probe)
    return answer


@exchange("bad-input")
async def _bad_inputs(env: Env) -> dict[str, Answer]:
    """Every bad input the profile allows, at once, each on its own chat."""
    tools = bool(env.profile.section("capabilities").get("tools"))
    chosen = [b for b in BAD if tools or not b.requires.get("tools")]
    async with EviClient(env) as client:
        answers = await together(*(_one(env, client, bad) for bad in chosen))
        return {f"{b.number}": a for b, a in zip(chosen, answers, strict=True)}


def _judge(ctx: CaseContext, bad: Bad, answer: Answer) -> None:
    reply = answer.reply
    if reply is None and not bad.silent_when_taken:
        ctx.fail(
            f"{bad.what} got no answer within {ctx.timeouts.event.cited}",
            expected="error {code, slug, message}, the socket kept",
            observed="nothing",
        )
    if reply is not None and reply.event == Server.ERROR:
        valid(ctx, reply)
        code_pinned(ctx, reply, bad.key)
    if answer.closed:
        ctx.fail(
            f"the server closed the socket after {bad.what[0].lower()}{bad.what[1:]}",
            expected="error {code, slug, message}, the socket kept",
            observed="close" if reply is None else f"{shown(heads([reply]))}, then close",
        )
    ctx.check(
        answer.usable,
        "after it the chat no longer took input: a user_input got no user_message within "
        f"{ctx.timeouts.event:g} s",
        expected="the chat goes on",
        observed=shown(heads(answer.probe)),
    )
    ctx.check(
        reply is not None and reply.event == Server.ERROR,
        f"{bad.what} was taken without an error (lenient parsing)",
        expected="error {code, slug, message}",
        observed="nothing" if reply is None else shown(heads([reply])),
        level=Level.SHOULD,
    )


def _error_case(bad: Bad) -> Callable[[CaseContext], Any]:
    @AREA.case(
        f"EVI-ERR-{bad.number:03d}",
        title=bad.title,
        clause=f"{bad.what} is answered with error {{code, slug, message}} and the chat goes on "
        "(taking it as the server can still serve it is lenient: NON-STRICT).",
        level=Level.MUST,
        requires=bad.requires,
    )
    async def run(ctx: CaseContext) -> None:
        answers: dict[str, Answer] = await played(ctx, "bad-input")
        _judge(ctx, bad, answers[f"{bad.number}"])

    return run


for _bad in BAD:
    _error_case(_bad)
