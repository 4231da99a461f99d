"""Isolation: a user's answer reaches that user's socket and no other user's."""

from __future__ import annotations

import asyncio

from conformance.engine.context import CaseContext, Env
from conformance.engine.model import Level
from conformance.protocols.chatmode.cases.common import CATALOGUE, CLIENT, scenario, shown
from conformance.protocols.chatmode.client import ChatClient, run_turn

AREA = CATALOGUE.area("isolation", source=CLIENT)


async def _two_users(env: Env) -> list[str]:
    async with ChatClient(env) as client:
        bystander = await client.open(
            "other-user", env.profile.section("auth").get("other_user_id")
        )
        heard = len(bystander.received)
        await run_turn(env, "text")
        await asyncio.sleep(env.timeouts.silence)
        return [e.event for e in bystander.received[heard:]]


@AREA.case(
    "CM-ISO-001",
    title="Answers go to the user who asked",
    clause="A user's answer reaches that user's socket and no other user's.",
    level=Level.MUST,
)
async def isolated(ctx: CaseContext) -> None:
    heard = await scenario(ctx, "two-users", _two_users)
    ctx.check(
        not heard,
        f"another user's socket got {heard}",
        expected="nothing on the other user's socket",
        observed=shown(heard),
    )
