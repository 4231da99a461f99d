"""The chat socket: `/ws/chat?token=<jwt>` upgrades with a fresh token and refuses a bad one."""

from __future__ import annotations

from collections.abc import Mapping

from conformance.engine.context import CaseContext
from conformance.engine.model import Level
from conformance.protocols.chatmode.cases.common import CATALOGUE, GUIDE, expired_token, shown
from conformance.protocols.chatmode.client import ChatClient

AREA = CATALOGUE.area("socket", source=GUIDE)


@AREA.case(
    "CM-WS-001",
    title="The socket takes a fresh token",
    clause="/ws/chat?token=<jwt> accepts the upgrade with a fresh token.",
    level=Level.MUST,
)
async def socket_accepts(ctx: CaseContext) -> None:
    async with ChatClient(ctx) as client:
        peer, refusal = await client.attempt("user", await client.token())
    ctx.check(
        peer is not None,
        "the upgrade was refused",
        expected="101 Switching Protocols",
        observed=shown(refusal),
    )


@AREA.case(
    "CM-WS-002",
    title="The socket refuses a bad token",
    clause="/ws/chat refuses the upgrade without a token or with one that is not the server's.",
    level=Level.MUST,
)
async def socket_refuses(ctx: CaseContext) -> None:
    async with ChatClient(ctx) as client:
        for token in (None, "not-a-token"):
            peer, _ = await client.attempt("intruder", token)
            ctx.check(
                peer is None,
                f"the upgrade was accepted with token {token!r}",
                expected="an HTTP 4xx refusal",
                observed="101 Switching Protocols",
            )


@AREA.case(
    "CM-WS-003",
    title="The socket refuses an expired token with 403",
    clause="An expired token gives 403 on the upgrade.",
    level=Level.MUST,
)
async def socket_expired(ctx: CaseContext) -> None:
    token = expired_token(ctx)
    async with ChatClient(ctx) as client:
        peer, refusal = await client.attempt("user", token)
    status = refusal.get("status") if isinstance(refusal, Mapping) else None
    ctx.check(
        peer is None and status == 403,
        "an expired token was not refused with 403",
        expected="HTTP 403",
        observed="101 Switching Protocols" if peer else f"HTTP {status}",
    )
