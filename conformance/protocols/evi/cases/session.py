"""A chat's life beyond one socket: the config's timeouts, and resuming a chat group."""

from __future__ import annotations

import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from conformance.engine.context import CaseContext, Env
from conformance.engine.model import Level
from conformance.engine.transcript import WireEvent
from conformance.protocols.evi.cases.common import (
    CATALOGUE,
    code_pinned,
    exchange,
    heads,
    played,
    seed,
    shown,
    together,
    valid,
)
from conformance.protocols.evi.client import CHAT, Chat, EviClient, fields
from conformance.protocols.evi.events import Server

# --- timeouts -----------------------------------------------------------------------------------

TIMEOUTS = CATALOGUE.area(
    "timeouts",
    source="seed 003 configs: PostedTimeoutSpecsInactivity, PostedTimeoutSpecsMaxDuration",
)
# A server starts its clock as it accepts the socket, a little before the harness sees the
# upgrade complete: a close this much before the duration is still on time.
EARLY = 0.3
SLUGS = {"inactivity": "inactivity_timeout", "max_duration": "max_duration_timeout"}


@dataclass(slots=True, kw_only=True)
class Timed:
    """An idle chat opened with a config whose one timeout is short, and how it ended."""

    kind: str  # inactivity | max_duration
    seconds: int
    problem: str = ""  # why no chat could be opened with the config
    opened_at: float = 0.0
    closed_at: float | None = None  # transcript times
    messages: list[WireEvent] = field(default_factory=list)


async def _config(env: Env, client: EviClient, kind: str, seconds: int) -> tuple[str, str]:
    """The config's id, or "" and why not (given by the profile, or created)."""
    given = env.profile.section("timeouts_config").get(f"{kind}_config_id")
    if given:
        return str(given), ""
    other = next(k for k in SLUGS if k != kind)
    answer = await client.create_config(
        f"conformance-{kind}",
        {kind: {"enabled": True, "duration_secs": seconds}, other: {"enabled": False}},
    )
    body = answer.json()
    if answer.status in (200, 201) and isinstance(body, Mapping) and body.get("id"):
        return str(body["id"]), ""
    return "", f"POST of a config answered HTTP {answer.status} {shown(body)}"


async def _idle(env: Env, client: EviClient, kind: str) -> Timed:
    env.prerequisite(CHAT)  # the chat is opened by attempt: a refusal here is this case's
    seconds = int(env.profile.section("timeouts_config").get(f"{kind}_secs", 1))
    timed = Timed(kind=kind, seconds=seconds)
    config_id, timed.problem = await _config(env, client, kind, seconds)
    if not config_id:
        return timed
    chat = await client.attempt(kind, query={"config_id": config_id})
    if chat.peer is None or chat.metadata is None:
        timed.problem = f"a socket with config_id {config_id!r} was not served a chat: " + (
            shown(chat.refusal) if chat.peer is None else shown(heads(chat.messages))
        )
        return timed
    timed.opened_at = next(e.at for e in chat.live.received if e.event == "connect")
    deadline = timed.opened_at + seconds + env.timeouts.event
    now = time.monotonic() - env.recorder.transcript.started
    closed = await client.wait(chat, lambda e: e.event == "close", deadline - now)
    timed.closed_at = closed.at if closed is not None else None
    timed.messages = chat.messages
    return timed


@exchange("timeouts")
async def _timeouts(env: Env) -> dict[str, Timed]:
    """The inactivity and the max-duration chats, idle at once."""
    async with EviClient(env) as client:
        timed = await together(*(_idle(env, client, kind) for kind in SLUGS))
        return {t.kind: t for t in timed}


async def _timed(ctx: CaseContext, kind: str) -> Timed:
    settings = ctx.profile.section("timeouts_config")
    if not ctx.profile.section("capabilities").get("configs_api") and not settings.get(
        f"{kind}_config_id"
    ):
        ctx.unsupported(f"no config API and no timeouts_config.{kind}_config_id")
    timed: dict[str, Timed] = await played(ctx, "timeouts")
    t = timed[kind]
    if t.problem:
        ctx.fail(
            t.problem,
            expected=f"a chat under a config with a {t.seconds} s {kind} timeout",
            observed=t.problem,
        )
    return t


def _time_cases(number: int, kind: str, what: str) -> None:
    """The close, and the error before it, of one timeout."""
    name = kind.replace("_", " ")

    @TIMEOUTS.case(
        f"EVI-TIME-{number:03d}",
        title=f"The {name} timeout closes the chat",
        clause=f"A chat whose config enables a short {name} timeout is closed once {what} "
        "reaches its duration_secs (within timeouts.event more), not before.",
        level=Level.MUST,
    )
    async def closes(ctx: CaseContext) -> None:
        t = await _timed(ctx, kind)
        slack = ctx.timeouts.event
        if t.closed_at is None:
            ctx.fail(
                f"the socket was still open {t.seconds + slack:g} s after it opened",
                expected=f"the close after {t.seconds} s of {what} (+ {slack:g} s, {slack.key})",
                observed=shown(heads(t.messages)),
            )
        after = t.closed_at - t.opened_at
        ctx.check(
            after >= t.seconds - EARLY,
            f"the socket closed after {after:.2f} s, before its {t.seconds} s {name} timeout",
            expected=f"the close after {t.seconds} s",
            observed=f"closed after {after:.2f} s",
        )

    @TIMEOUTS.case(
        f"EVI-TIME-{number + 1:03d}",
        title=f"The {name} timeout is announced",
        clause=f"Before closing a chat for its {name} timeout the server sends an error saying "
        f"so (the publisher's example: {'E0714' if kind == 'inactivity' else 'E0715'} "
        f"{SLUGS[kind]}; the code is checked only where the profile pins it).",
        level=Level.SHOULD,
        source=f"{TIMEOUTS.source}; PROTOCOLS.md §3 error codes seen in the publisher's examples",
    )
    async def announced(ctx: CaseContext) -> None:
        t = await _timed(ctx, kind)
        if t.closed_at is None:
            ctx.blocked(f"the chat was not closed (see EVI-TIME-{number:03d})")
        errors = [e for e in t.messages if e.event == Server.ERROR]
        ctx.check(
            bool(errors),
            f"the chat closed for its {name} timeout without an error",
            expected=f"error {{code, slug: {SLUGS[kind]}?, message}}, then the close",
            observed=shown(heads(t.messages)),
        )
        valid(ctx, errors[-1], Level.MUST)
        code_pinned(ctx, errors[-1], SLUGS[kind])


_time_cases(1, "inactivity", "user inactivity")
_time_cases(3, "max_duration", "the chat's duration")


# --- resumption ---------------------------------------------------------------------------------

RESUMPTION = CATALOGUE.area(
    "resumption",
    source=seed("chat_metadata.chat_group_id") + " (resumed_chat_group_id)",
    requires={"resumption": True},
)


@dataclass(slots=True, kw_only=True)
class Resumption:
    """A chat, then a socket resuming its group, then one naming a group that never was."""

    first: Chat
    resumed: Chat
    unknown: Chat
    unknown_closed: bool = False


def _metadata(chat: Chat) -> Mapping[str, Any]:
    return fields(chat.metadata)


@exchange("resume")
async def _resume(env: Env) -> Resumption:
    async with EviClient(env) as client:
        first = await client.open("first")
        group = _metadata(first).get("chat_group_id")
        await first.live.close()
        resumed = await client.attempt("resumed", query={"resumed_chat_group_id": str(group)})
        unknown = await client.attempt(
            "unknown-group", query={"resumed_chat_group_id": str(uuid.uuid4())}
        )
        if unknown.peer is not None and unknown.closed is None:
            await client.wait(unknown, lambda e: e.event == "close", client.env.timeouts.event)
        return Resumption(
            first=first, resumed=resumed, unknown=unknown, unknown_closed=unknown.closed is not None
        )


async def _resumption(ctx: CaseContext) -> Resumption:
    seen: Resumption = await played(ctx, "resume")
    return seen


async def _resumed(ctx: CaseContext) -> tuple[Mapping[str, Any], Mapping[str, Any]]:
    """The first chat's metadata and the resumed one's; FAILED when the resume was refused."""
    seen = await _resumption(ctx)
    if seen.resumed.metadata is None:
        ctx.fail(
            "a socket resuming the chat group of a chat the server served was not served a chat",
            expected="chat_metadata",
            observed=shown(seen.resumed.refusal)
            if seen.resumed.peer is None
            else shown(heads(seen.resumed.messages)),
        )
    return _metadata(seen.first), _metadata(seen.resumed)


@RESUMPTION.case(
    "EVI-RES-001",
    title="A resumed chat keeps its group",
    clause="A socket opened with resumed_chat_group_id=<a chat_group_id the server gave> is served "
    "a chat whose chat_metadata carries that chat_group_id.",
    level=Level.MUST,
)
async def keeps_group(ctx: CaseContext) -> None:
    first, resumed = await _resumed(ctx)
    ctx.check(
        resumed.get("chat_group_id") == first.get("chat_group_id"),
        "the resumed chat has another chat_group_id",
        expected=f"chat_group_id {first.get('chat_group_id')!r}",
        observed=shown(resumed),
    )


@RESUMPTION.case(
    "EVI-RES-002",
    title="A resumed chat is a new chat",
    clause="The resumed chat's chat_metadata carries a new chat_id.",
    level=Level.MUST,
)
async def new_chat(ctx: CaseContext) -> None:
    first, resumed = await _resumed(ctx)
    ctx.check(
        resumed.get("chat_id") != first.get("chat_id"),
        "the resumed chat has the first chat's chat_id",
        expected=f"a chat_id other than {first.get('chat_id')!r}",
        observed=shown(resumed),
    )


@RESUMPTION.case(
    "EVI-RES-003",
    title="An unknown chat group is refused",
    clause="A socket naming a resumed_chat_group_id the server never gave is refused (HTTP 4xx, or "
    "[default] error chat_group_not_found and the close), not served a chat.",
    level=Level.SHOULD,
)
async def unknown_group(ctx: CaseContext) -> None:
    seen = await _resumption(ctx)
    unknown = seen.unknown
    ctx.check(
        unknown.peer is None or (unknown.metadata is None and seen.unknown_closed),
        "a socket naming an unknown chat group was not refused",
        expected="HTTP 4xx, or an error and the close",
        observed=shown(heads(unknown.messages)) + (" then close" if seen.unknown_closed else ""),
    )
    for error in (e for e in unknown.messages if e.event == Server.ERROR):
        valid(ctx, error, Level.MUST)
        code_pinned(ctx, error, "chat_group_not_found")
