"""Connection info: `GET /connection` answers with a token, and refuses without one."""

from __future__ import annotations

from conformance.engine.context import CaseContext
from conformance.engine.model import Level
from conformance.protocols.chatmode.cases.common import (
    CATALOGUE,
    GUIDE,
    expect_status,
    expired_token,
    valid,
)
from conformance.protocols.chatmode.client import ChatClient

AREA = CATALOGUE.area("connection", source=GUIDE)


@AREA.case(
    "CM-CON-001",
    title="Connection info with a token",
    clause="GET /connection with Authorization: Bearer <jwt> answers 200 "
    "{status, session, avatars_info, languages}.",
    level=Level.MUST,
)
async def connection_info(ctx: CaseContext) -> None:
    async with ChatClient(ctx) as client:
        answer = await client.connection(await client.token())
    expect_status(ctx, answer, {200}, "GET /connection")
    valid(ctx, "connection.response", answer.json())


@AREA.case(
    "CM-CON-002",
    title="Connection info needs a token",
    clause="GET /connection without a token is refused (401 or 403).",
    level=Level.MUST,
)
async def connection_needs_token(ctx: CaseContext) -> None:
    async with ChatClient(ctx) as client:
        answer = await client.connection(None)
    expect_status(ctx, answer, {401, 403}, "GET /connection without a token")


@AREA.case(
    "CM-CON-003",
    title="An expired token gives 403",
    clause="GET /connection with an expired token answers 403.",
    level=Level.MUST,
)
async def connection_expired(ctx: CaseContext) -> None:
    token = expired_token(ctx)
    async with ChatClient(ctx) as client:
        answer = await client.connection(token)
    expect_status(ctx, answer, {403}, "GET /connection with an expired token")
