"""What the EVI cases share: the catalogue, clause sources, the exchanges several areas judge,
and judging helpers."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

from conformance import schemas
from conformance.engine.catalogue import Catalogue
from conformance.engine.context import CaseContext, Env
from conformance.engine.judging import Validator, shown
from conformance.engine.model import Level
from conformance.engine.transcript import WireEvent
from conformance.protocols.evi.client import Chat, EviClient, Turn, fields
from conformance.protocols.evi.events import Server

__all__ = [
    "CATALOGUE",
    "CUSTOM_SESSION_ID",
    "OPEN",
    "READING_DEFAULT",
    "SDK",
    "AssistantExchange",
    "TextExchange",
    "answered",
    "assistant_exchange",
    "code_pinned",
    "exchange",
    "heads",
    "normalised",
    "played",
    "prompt",
    "scenario_values",
    "seed",
    "shown",
    "text_exchange",
    "together",
    "valid",
    "words",
]

# The order of the areas in listings and reports: a chat's life, then errors and isolation.
CATALOGUE = Catalogue(
    areas=(
        "handshake",
        "metadata",
        "settings",
        "text turn",
        "audio turn",
        "turn order",
        "audio output",
        "assistant input",
        "pause",
        "tools",
        "interruption",
        "timeouts",
        "resumption",
        "errors",
        "isolation",
        "messages",
    )
)

READING_DEFAULT = "the suite's [default] reading (schemas/evi/asyncapi.yaml)"
OPEN = "PROTOCOLS.md §3 [open]"
SDK = "hume SDK 0.14.1 (newest; the seed's successor)"

T = TypeVar("T")


def seed(*types: str) -> str:
    """A clause source: seed 003's definition of these message types."""
    return f"seed 003 (EVI SDK definitions): {', '.join(types)}"


def normalised(text: Any) -> str:
    return " ".join(str(text).split())


def prompt(env: Env, name: str) -> Any:
    return env.profile.section("prompts").get(name)


Exchange = Callable[[Env], Awaitable[Any]]
_EXCHANGES: dict[str, Exchange] = {}
# Exchanges that mostly wait on the server run at once as one scenario, so the run waits for
# the slowest of a group rather than for their sum; each case shows its group's wire log.
GROUPS = (("text", "assistant-input"), ("pause", "timeouts"), ("tools", "interrupt"))
E = TypeVar("E", bound=Exchange)


def exchange(key: str) -> Callable[[E], E]:
    """Register the exchange `key` (a scenario several cases judge)."""

    def register(run: E) -> E:
        if key in _EXCHANGES:
            raise ValueError(f"exchange {key!r} registered twice")
        _EXCHANGES[key] = run
        return run

    return register


def _group(key: str) -> tuple[str, ...]:
    return next((group for group in GROUPS if key in group), (key,))


def scenario_values(values: Mapping[str, Any]) -> dict[str, Any]:
    """Exchange values by key as the scenarios `played` asks for (load mode plays them)."""
    keyed: dict[str, Any] = {}
    for key, value in values.items():
        group = _group(key)
        if len(group) == 1:
            keyed[f"evi:{key}"] = value
        else:
            keyed.setdefault("evi:" + "+".join(group), {})[key] = value
    return keyed


async def played(ctx: CaseContext, key: str) -> Any:
    """The value of the exchange `key`, run once per run (with its group) and shared."""
    group = _group(key)
    if len(group) == 1:
        return await ctx.scenario(f"evi:{key}", _EXCHANGES[key])

    async def run(env: Env) -> dict[str, Any]:
        values = await together(*(_EXCHANGES[k](env) for k in group))
        return dict(zip(group, values, strict=True))

    values: dict[str, Any] = await ctx.scenario("evi:" + "+".join(group), run)
    return values[key]


_valid = Validator("evi")


def valid(ctx: CaseContext, event: WireEvent, level: Level | None = None) -> None:
    """FAILED with the schema path when a message violates its type's schema (a type without
    a schema is judged by EVI-MSG-002)."""
    if event.event in schemas.messages("evi"):
        _valid(ctx, event.event, event.payload, level)


def code_pinned(ctx: CaseContext, error: WireEvent, key: str) -> None:
    """FAILED when the profile pins an error code for `key` and the error carries another."""
    pinned = ctx.profile.section("errors").get("codes", {}).get(key)
    if pinned is None:
        return
    payload = fields(error)
    ctx.check(
        payload.get("code") == pinned,
        f"error code {payload.get('code')!r} where the profile pins {pinned!r} "
        f"(errors.codes.{key})",
        expected=f"code {pinned}",
        observed=shown(payload),
    )


def answered(ctx: CaseContext, turn: Turn | None, what: str) -> Turn:
    """FAILED unless the turn's input was answered: an assistant_message, then assistant_end."""
    if turn is None:
        ctx.harness(f"{what} was not run")
    said = turn.of(Server.ASSISTANT_MESSAGE)
    kinds = [e.event for e in turn.events]
    if turn.ended and said:
        return turn
    if not turn.events:
        why = f"{what} got no message at all within {ctx.timeouts.first_audio.cited}"
    elif turn.end is not None and turn.end.event == Server.ERROR:
        why = f"{what} was answered with an error"
    elif turn.closed:
        why = f"the socket closed before {what} was answered"
    elif turn.ended:
        why = f"{what} got an assistant_end but no assistant_message"
    elif turn.stalled:
        why = (
            f"{what}'s answer never ended: no assistant_end, then nothing for "
            f"{ctx.timeouts.stall.cited}"
        )
    else:
        why = f"{what} got no assistant_end within {ctx.timeouts.turn.cited}"
    ctx.fail(
        why,
        expected="assistant_message(s), audio_output, then assistant_end",
        observed=shown(heads(turn.events)) if kinds else "nothing",
    )


def _head(event: WireEvent) -> Any:
    """A message without its audio, for verdicts."""
    payload = event.payload
    if isinstance(payload, Mapping):
        return {k: v for k, v in payload.items() if k != "data"}
    return event.event


def heads(events: Iterable[WireEvent]) -> list[Any]:
    return [_head(e) for e in events]


async def together(*runs: Awaitable[T]) -> list[T]:
    """Run exchanges at once (each on its own socket), wait for all, raise the first failure:
    a scenario's exchanges overlap instead of queueing, and none is left running."""
    results = await asyncio.gather(*runs, return_exceptions=True)
    for result in results:
        if isinstance(result, BaseException):
            raise result
    return [r for r in results if not isinstance(r, BaseException)]


def words(text: Any) -> list[str]:
    """The words of a transcript, lower case, without punctuation."""
    return re.findall(r"[a-z0-9']+", str(text).lower())


# --- the exchanges several areas judge --------------------------------------------------------


@dataclass(slots=True, kw_only=True)
class TextExchange:
    """A user_input turn on one chat while a second chat (the bystander) stays idle."""

    chat: Chat
    bystander: Chat
    turn: Turn
    heard: list[WireEvent] = field(default_factory=list)  # what the bystander got meanwhile


@exchange("text")
async def text_exchange(env: Env) -> TextExchange:
    async with EviClient(env) as client:
        chat = await client.open("chat")
        bystander = await client.open("bystander")
        heard = len(bystander.live.received)
        turn = await client.text_turn(chat, str(prompt(env, "text")))
        await client.settle(bystander)
        client.keep_audio(turn, "text turn")
        return TextExchange(
            chat=chat, bystander=bystander, turn=turn, heard=client.since(bystander, heard)
        )


# Session settings with every optional field a voice chat would set; custom_session_id is
# judged on the messages that follow (EVI-SET-003).
CUSTOM_SESSION_ID = "conformance-session-1"


def full_settings() -> dict[str, Any]:
    return {
        "custom_session_id": CUSTOM_SESSION_ID,
        "system_prompt": "You are a concise assistant of a conformance test.",
        "context": {"type": "persistent", "text": "The user is testing the server."},
        "variables": {"user_name": "Tester"},
        "metadata": {"suite": "conformance"},
    }


@dataclass(slots=True, kw_only=True)
class AssistantExchange:
    """session_settings with every optional field, its reply (if any), then assistant_input."""

    chat: Chat
    settings_reply: list[WireEvent]
    turn: Turn


@exchange("assistant-input")
async def assistant_exchange(env: Env) -> AssistantExchange:
    async with EviClient(env) as client:
        chat = await client.open("assistant")
        start = len(chat.live.received)
        await client.settings(chat, **full_settings())
        # session_settings is not acknowledged [default]: what comes before a short quiet
        # is an echo (open) or a refusal.
        await client.settle(chat)
        reply = client.since(chat, start)
        turn = await client.assistant_turn(chat, str(prompt(env, "assistant")))
        client.keep_audio(turn, "assistant_input turn")
        return AssistantExchange(chat=chat, settings_reply=reply, turn=turn)
