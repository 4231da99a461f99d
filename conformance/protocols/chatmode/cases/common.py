"""What the Chat Mode cases share: the catalogue, clause sources, the text turn, and judging
helpers."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from conformance.engine.catalogue import Catalogue
from conformance.engine.context import CaseContext, Env
from conformance.engine.judging import Validator, shown
from conformance.profiles import Timeout
from conformance.protocols.chatmode.client import Turn, recognised, run_turn
from conformance.transports.http import HttpAnswer

__all__ = [
    "CATALOGUE",
    "CLIENT",
    "GUIDE",
    "INVALID",
    "SEED",
    "answered",
    "body",
    "expect_status",
    "expired_token",
    "nothing",
    "scenario",
    "shown",
    "text_turn",
    "valid",
]

# The order of the areas in listings and reports: the token flow, then a turn's order, then
# errors and isolation.
CATALOGUE = Catalogue(
    areas=(
        "token",
        "connection",
        "socket",
        "text turn",
        "voice turn",
        "answer audio",
        "errors",
        "isolation",
    )
)
GUIDE = "PROTOCOLS.md §2 [doc, publisher's guide]"
CLIENT = "PROTOCOLS.md §2 [doc, publisher's client]"
INVALID = "PROTOCOLS.md §2 [default] invalid messages"
SEED = "seed 002 (Chat Mode)"

valid = Validator("chatmode")


def body(answer: HttpAnswer) -> Any:
    """An HTTP answer's JSON body, or its first bytes when it is not JSON."""
    parsed = answer.json()
    return parsed if parsed is not None else answer.body[:80]


def expect_status(ctx: CaseContext, answer: HttpAnswer, expected: set[int], what: str) -> None:
    """FAILED when the HTTP answer's status is not one of `expected`."""
    ctx.check(
        answer.status in expected,
        f"{what} answered HTTP {answer.status}",
        expected=f"HTTP {' or '.join(map(str, sorted(expected)))}",
        observed=f"HTTP {answer.status} {shown(body(answer))}",
    )


def expired_token(ctx: CaseContext) -> str:
    """The profile's expired token; UNSUPPORTED when it gives none."""
    token = ctx.profile.section("auth").get("expired_token")
    if not token:
        ctx.unsupported("the profile gives no auth.expired_token")
    return str(token)


async def scenario(ctx: CaseContext, key: str, run: Callable[[Env], Awaitable[Any]]) -> Any:
    return await ctx.scenario(f"chatmode:{key}", run)


async def text_turn(ctx: CaseContext) -> Turn:
    """The shared text turn (run once per run)."""
    turn: Turn = await scenario(ctx, "text", lambda env: run_turn(env, "text"))
    return turn


def nothing(ctx: CaseContext, t: Turn, timeout: Timeout, what: str) -> str:
    """Why no answer came, in the words of the wait that ended (ChatClient.answer)."""
    kinds = [e.event for e in t.received]
    if "close" in kinds:
        return f"the socket closed before {what} came"
    strange = sorted({e.event for e in t.received if not recognised(e)})
    if strange:
        return (
            f"awaited {what}; the server sent messages of no known type ({', '.join(strange)}), "
            f"then nothing for {ctx.timeouts.stall.cited}"
        )
    return f"awaited {what} within {timeout.cited}; nothing came"


def answered(ctx: CaseContext, t: Turn) -> Mapping[str, Any]:
    """The turn's incoming answer; FAILED when none came or it came as an error."""
    if t.answer is None:
        ctx.fail(
            nothing(ctx, t, ctx.timeouts.turn, "an incoming or system message"),
            expected="{type: incoming, content, fileUrl?}",
            observed=shown([e.event for e in t.received]),
        )
    ctx.check(
        t.answer.event == "incoming",
        "the message was answered as an error",
        expected="{type: incoming, ...}",
        observed=shown(t.answer.payload),
    )
    payload = t.answer.payload
    return payload if isinstance(payload, Mapping) else {}
