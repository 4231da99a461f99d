"""An error event for each bad input of PROTOCOLS.md §1, and a connection still usable after.

PROTOCOLS.md's readings for all protocols: accepting bad input the server can still serve
(lenient parsing: the input's own acknowledgement instead of an error) is at most NON-STRICT;
what is never allowed is silence, a dropped connection, a malformed answer, or a connection no
longer usable afterwards (FAILED).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from conformance.engine.context import CaseContext, Env
from conformance.engine.model import Level
from conformance.engine.transcript import WireEvent
from conformance.profiles import Timeout, Timeouts
from conformance.protocols.metahuman.cases.common import CATALOGUE, SEED_EXAMPLES, shown, valid
from conformance.protocols.metahuman.client import MetaHumanClient
from conformance.protocols.metahuman.events import Event, Role
from conformance.transports.socketio import SocketIOPeer

CATALOGUE_DEFAULT = "PROTOCOLS.md §1 [default] custom.error catalogue"
AREA = CATALOGUE.area("errors", source=f"{CATALOGUE_DEFAULT}; {SEED_EXAMPLES}: custom.error")
ERROR_EVENTS = (Event.CUSTOM_ERROR, Event.CONNECT_ERROR)


@dataclass(slots=True)
class Exchange:
    """A bad input and what came of it."""

    answer: WireEvent | None = None  # the error, or the acknowledgement of a lenient server
    usable: bool = False
    dropped: bool = False  # the server closed the connection instead of answering


BadInput = Callable[[MetaHumanClient, SocketIOPeer], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class Acceptance:
    """How a lenient server acknowledges a bad input instead of refusing it, and how long its
    answer may take (a commit is answered by a transcription)."""

    events: tuple[str, ...]
    timeout: Callable[[Timeouts], Timeout] = lambda timeouts: timeouts.event


APPEND = Acceptance((Event.INPUT_BUFFER_INITIALIZED,))
COMMIT = Acceptance((Event.REQUEST_TRANSCRIBE_DONE,), lambda timeouts: timeouts.transcription)


async def _exchange(env: Env, configured: bool, bad: BadInput, accepted: Acceptance) -> Exchange:
    """Send a bad input, await its answer (an error, or a lenient acknowledgement), then probe
    that the socket still works."""
    async with MetaHumanClient(env) as client:
        sender = await client.connect(Role.SENDER, "sender")
        if configured:
            await client.configure(sender, client.session_update())
        start = len(sender.received)
        await bad(client, sender)
        wanted = (*ERROR_EVENTS, *accepted.events)
        exchange = Exchange(
            answer=await client.answer(sender, wanted, accepted.timeout(env.timeouts), start)
        )
        exchange.dropped = not sender.connected
        if sender.connected:
            probe = await client.configure(sender, client.session_update())
            exchange.usable = probe is not None and probe.event == Event.SESSION_UPDATED
        return exchange


def error_case(
    id: str,
    title: str,
    bad_input: str,
    *,
    key: str,
    accepted: Acceptance,
    configured: bool = True,
) -> Callable[[BadInput], BadInput]:
    """Register a case: `bad_input` must get an error event, and the connection must survive."""

    def register(bad: BadInput) -> BadInput:
        @AREA.case(
            id,
            title=title,
            clause=f"{bad_input} is answered with an error event "
            "(custom.error {message, errorId}), "
            "and the connection stays usable (accepting it where the server can still serve "
            "it is lenient: NON-STRICT).",
            level=Level.MUST,
        )
        async def run(ctx: CaseContext) -> None:
            exchange = await ctx.scenario(
                f"error[{key}]", lambda env: _exchange(env, configured, bad, accepted)
            )
            _judge(ctx, exchange, key, accepted, bad_input)

        return bad

    return register


def _judge(
    ctx: CaseContext, exchange: Exchange, key: str, accepted: Acceptance, bad_input: str
) -> None:
    answer = exchange.answer
    if answer is None:
        timeout = accepted.timeout(ctx.timeouts)
        ctx.fail(
            "the server dropped the connection instead of answering with custom.error"
            if exchange.dropped
            else f"awaited custom.error within {timeout.cited}; nothing came",
            expected="custom.error {message, errorId}, the connection kept",
            observed="the connection closed"
            if exchange.dropped
            else f"no error event within {timeout:g} s",
        )
    valid(ctx, answer.event, answer.payload)
    pinned = ctx.profile.section("errors").get(key)
    if pinned is not None and answer.event == Event.CUSTOM_ERROR:
        observed: Any = (
            (answer.payload or {}).get("errorId") if isinstance(answer.payload, dict) else None
        )
        ctx.check(
            observed == pinned,
            f"errorId {observed} where the profile pins {pinned} (errors.{key})",
            expected=f"errorId {pinned}",
            observed=shown(answer.payload),
        )
    ctx.check(
        exchange.usable,
        f"after the {answer.event} the connection was not usable: session.update got no "
        "session.updated",
        expected="session.updated after a new session.update",
        observed="the socket was closed" if not exchange.usable else "",
    )
    ctx.check(
        answer.event in ERROR_EVENTS,
        f"{bad_input} was accepted ({answer.event}) instead of refused: lenient parsing",
        expected="custom.error {message, errorId}",
        observed=f"{answer.event} {shown(answer.payload)}",
        level=Level.SHOULD,
    )


@error_case(
    "MH-ERR-001",
    "Invalid session config",
    "A session.update that violates its schema",
    key="invalid_session_config",
    accepted=Acceptance((Event.SESSION_UPDATED,)),
    configured=False,
)
async def invalid_update(client: MetaHumanClient, sender: SocketIOPeer) -> None:
    bad = client.session_update()
    bad["TTS"]["responseType"] = {"name": "whisper", "title": "Whisper"}
    await sender.emit(Event.SESSION_UPDATE, bad)


@error_case(
    "MH-ERR-002",
    "Append before session.update",
    "input.buffer.append before any session.update",
    key="session_not_configured",
    accepted=APPEND,
    configured=False,
)
async def append_unconfigured(client: MetaHumanClient, sender: SocketIOPeer) -> None:
    await sender.emit(Event.INPUT_BUFFER_APPEND, client.chunk(client.speech()[:4096]))


@error_case(
    "MH-ERR-003",
    "A chunk that is not base64",
    "An input.buffer.append chunk that is not base64",
    key="invalid_chunk",
    accepted=APPEND,
)
async def not_base64(client: MetaHumanClient, sender: SocketIOPeer) -> None:
    await sender.emit(Event.INPUT_BUFFER_APPEND, "%%% this is not base64 %%%")


@error_case(
    "MH-ERR-004",
    "Audio that cannot be decoded",
    "A commit of a buffer that is not audio",
    key="audio_not_decodable",
    accepted=COMMIT,
)
async def not_audio(client: MetaHumanClient, sender: SocketIOPeer) -> None:
    await sender.emit(Event.INPUT_BUFFER_APPEND, client.chunk(bytes(range(256)) * 32))
    await sender.emit(Event.INPUT_BUFFER_COMMIT)


@error_case(
    "MH-ERR-005",
    "Commit of an empty buffer",
    "An input.buffer.commit with no chunk appended",
    key="empty_buffer",
    accepted=COMMIT,
)
async def empty_commit(client: MetaHumanClient, sender: SocketIOPeer) -> None:
    await sender.emit(Event.INPUT_BUFFER_COMMIT)


async def _oversized(client: MetaHumanClient, sender: SocketIOPeer) -> None:
    size = int(client.env.profile.section("limits").get("oversized_chunk_bytes") or 0)
    await sender.emit(Event.INPUT_BUFFER_APPEND, client.chunk(b"\x00" * size))


@AREA.case(
    "MH-ERR-006",
    title="A chunk over the size limit",
    clause="A chunk over the server's size limit is answered with an error event "
    "(custom.error {message, errorId}), and the connection stays usable (accepting it is "
    "lenient: NON-STRICT).",
    level=Level.MUST,
)
async def oversized(ctx: CaseContext) -> None:
    if not ctx.profile.section("limits").get("oversized_chunk_bytes"):
        ctx.unsupported("the profile gives no limits.oversized_chunk_bytes")
    exchange = await ctx.scenario(
        "error[payload_too_large]", lambda env: _exchange(env, True, _oversized, APPEND)
    )
    _judge(ctx, exchange, "payload_too_large", APPEND, "A chunk over the size limit")
