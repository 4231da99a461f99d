"""The token flow: `POST /jwt` issues a token for a valid user and refuses a bad one."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from conformance import schemas
from conformance.engine.context import CaseContext
from conformance.engine.model import Level
from conformance.protocols.chatmode.cases.common import (
    CATALOGUE,
    GUIDE,
    body,
    expect_status,
    shown,
    valid,
)
from conformance.protocols.chatmode.client import ChatClient

AREA = CATALOGUE.area("token", source=GUIDE)


def _carries(value: Any, code: str) -> bool:
    """Whether `code` is a string anywhere in a JSON value (a key or a value, at any depth)."""
    if isinstance(value, str):
        return value == code
    if isinstance(value, Mapping):
        return any(k == code or _carries(v, code) for k, v in value.items())
    if isinstance(value, list):
        return any(_carries(v, code) for v in value)
    return False


def _jwt_case(
    id: str,
    title: str,
    clause: str,
    *,
    user_id: Any = None,
    project: str | None = None,
    status: set[int],
    error: str | None,
    level: Level = Level.MUST,
) -> None:
    @AREA.case(
        id,
        title=title,
        clause=clause,
        level=level,
    )
    async def run(ctx: CaseContext) -> None:
        async with ChatClient(ctx) as client:
            if project == "unknown":
                unknown = ctx.profile.section("auth").get("unknown_project_id")
                if not unknown:
                    ctx.unsupported("the profile gives no auth.unknown_project_id")
                answer = await client.jwt(project_id=unknown)
            elif user_id is not None:
                answer = await client.jwt(user_id=user_id)
            else:
                answer = await client.jwt()
        expect_status(ctx, answer, status, "POST /jwt")
        parsed = answer.json()
        if error is None:
            valid(ctx, "jwt.response", parsed)
            ctx.check(
                isinstance(parsed, Mapping)
                and parsed.get("result") == "success"
                and bool(parsed.get("jwt")),
                "no token in a successful answer",
                expected='{"result": "success", "jwt": ...}',
                observed=shown(parsed),
            )
        else:
            # The guide names the code of each refusal but shows no body, so where the code
            # sits is open: anywhere in the body is the code given (SHOULD); the suite's
            # [default] shape {result: "failure", error: <code>} is informational only.
            ctx.check(
                _carries(parsed, error) or error.encode() in answer.body,
                f"the refusal does not carry the error code {error!r}",
                expected=f"a body naming {error!r}",
                observed=shown(body(answer)),
                level=Level.SHOULD,
            )
            default = isinstance(parsed, Mapping) and parsed.get("error") == error
            ctx.check(
                default and not schemas.errors("chatmode", "jwt.error", parsed),
                "the refusal's body is not the suite's [default] shape",
                expected=f'{{"result": "failure", "error": "{error}"}} (jwt.error, [default])',
                observed=shown(body(answer)),
                level=Level.MAY,
            )


_jwt_case(
    "CM-TOK-001",
    "A token for a valid user",
    "POST /jwt with a valid user_id answers 200 {result: success, jwt}.",
    status={200},
    error=None,
)
_jwt_case(
    "CM-TOK-002",
    "A user_id with a bad character is refused",
    "POST /jwt with a user_id outside [A-Za-z0-9_-] answers 400 invalid_user_id.",
    user_id="bad user!",
    status={400},
    error="invalid_user_id",
)
_jwt_case(
    "CM-TOK-003",
    "A 129-character user_id is refused",
    "POST /jwt with a user_id longer than 128 characters answers 400 invalid_user_id.",
    user_id="u" * 129,
    status={400},
    error="invalid_user_id",
)
_jwt_case(
    "CM-TOK-004",
    "An unknown project is refused",
    "POST /jwt with a project_id the server does not know answers 401 project_not_found.",
    project="unknown",
    status={401},
    error="project_not_found",
)
