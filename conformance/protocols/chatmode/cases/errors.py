"""Invalid messages: each is answered with a system message, and the socket stays usable."""

from __future__ import annotations

import asyncio
import base64
from collections.abc import Callable, Mapping
from typing import Any

from conformance import audio
from conformance.engine.context import CaseContext, Env
from conformance.engine.model import Level
from conformance.protocols.chatmode.cases.common import (
    CATALOGUE,
    INVALID,
    nothing,
    scenario,
    shown,
    valid,
)
from conformance.protocols.chatmode.client import ChatClient, Turn, recognised

AREA = CATALOGUE.area("errors", source=INVALID)


async def _invalid(env: Env, make: Callable[[ChatClient], Any]) -> Turn:
    """Send one invalid message, take its reply, then (if the reply was a system message and
    the socket is open) a valid text message, to see the socket still answers."""
    async with ChatClient(env) as client:
        peer = await client.open()
        message = make(client)
        turn = Turn(message=message if isinstance(message, dict) else {"raw": message}, peer=peer)
        start = len(peer.received)
        if isinstance(message, str):
            await peer.send_text(message)
        else:
            await peer.send_json(message)
        turn.answer = await client.reply(peer, start, env.timeouts.event)
        began = any(e.event == "event" for e in peer.received[start:])
        if turn.answer is None and began and peer.connected:
            # It began answering (a notification): a lenient server's whole answer to the
            # message it accepted takes a turn's time, not an error's.
            turn.answer = await client.reply(peer, start, env.timeouts.turn)
        turn.received = list(peer.received[start:])
        if turn.answer is not None and turn.answer.event == "incoming":
            turn.still_open = peer.connected  # the answer itself shows the socket works
        if turn.answer is None or turn.answer.event != "system":
            return turn  # judged on the reply; the probe would tell nothing more
        await asyncio.sleep(0.05)
        if peer.connected:
            probe_start = len(peer.received)
            await peer.send_json(client.text())
            probe = await client.answer(peer, probe_start)
            turn.still_open = probe is not None and probe.event == "incoming"
    return turn


def _invalid_case(
    id: str,
    title: str,
    bad: str,
    make: Callable[[ChatClient], Any],
    *,
    requires: Mapping[str, Any] | None = None,
) -> None:
    @AREA.case(
        id,
        title=title,
        clause=f"{bad} is answered with a system message, and the socket stays open and usable "
        "(answering it as a valid message is lenient: NON-STRICT).",
        level=Level.MUST,
        requires=requires,
    )
    async def run(ctx: CaseContext) -> None:
        t = await scenario(ctx, f"invalid:{id}", lambda env: _invalid(env, make))
        if t.answer is None:
            ctx.fail(
                nothing(ctx, t, ctx.timeouts.event, "a system message"),
                expected='{"type": "system", "content": <reason>}',
                observed=shown([e.event for e in t.received]),
            )
        kind = t.answer.event
        ctx.check(
            kind in ("system", "incoming"),
            f"{bad} was answered with a message of no known type ({kind}), not a system one"
            if not recognised(t.answer)
            else f"{bad} was answered with a message of type {kind}, not a system message",
            expected="type system",
            observed=shown(t.answer.payload),
        )
        valid(ctx, "server.message", t.answer.payload)
        ctx.check(
            t.still_open,
            f"after the {kind} message the socket did not answer a valid text message",
            expected="an incoming answer to the next message",
            observed="closed or silent",
        )
        # PROTOCOLS.md, readings for all protocols: accepting input the server can still
        # serve is lenient parsing, at most NON-STRICT.
        ctx.check(
            kind == "system",
            f"{bad} was answered as a valid message (lenient parsing)",
            expected="type system",
            observed=shown(t.answer.payload),
            level=Level.SHOULD,
        )


def _without(field: str) -> Callable[[ChatClient], Any]:
    def make(client: ChatClient) -> Any:
        message = client.text()
        message.pop(field, None)
        return message

    return make


for number, name in enumerate(
    ("avatar_id", "user_id", "chat_type", "language", "request", "requestType", "source", "isLive"),
    start=1,
):
    _invalid_case(
        f"CM-ERR-{number:03d}",
        f"A text message without {name}",
        f"A text message without its required `{name}`",
        _without(name),
    )
_invalid_case(
    "CM-ERR-009",
    "A voice message without audio",
    "A voice message without `file_base64_data`",
    lambda c: {k: v for k, v in c.voice().items() if k != "file_base64_data"},
)
_invalid_case(
    "CM-ERR-010",
    "chat_type and requestType disagree",
    "A message with chat_type text and requestType audio",
    lambda c: c.text(requestType="audio"),
)
_invalid_case(
    "CM-ERR-011",
    "isLive true without Live Mode",
    "A message with isLive true where Live Mode is not offered",
    lambda c: c.text(isLive=True),
    requires={"live_mode": False},
)
_invalid_case(
    "CM-ERR-012",
    "8 kHz audio",
    "A voice message in 8 kHz WAV (16 kHz is required)",
    lambda c: c.voice(audio.encode(audio.decode(c.speech("wav")).set_frame_rate(8000), "wav")),
)
_invalid_case(
    "CM-ERR-013",
    "Bytes that are not audio",
    "A voice message whose file_base64_data is not audio",
    lambda c: {
        **c.voice(),
        "file_base64_data": base64.b64encode(b"not audio at all" * 64).decode(),
    },
)
_invalid_case(
    "CM-ERR-014", "Not JSON", "A message that is not JSON", lambda c: "this is not json {"
)
