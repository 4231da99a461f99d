"""The chat socket's handshake (credentials, refusals) and the chat_metadata that opens a chat."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from conformance.engine.catalogue import Variant
from conformance.engine.context import CaseContext, Env
from conformance.engine.model import Blocked, Level
from conformance.protocols.evi.cases.common import (
    CATALOGUE,
    OPEN,
    READING_DEFAULT,
    code_pinned,
    exchange,
    heads,
    played,
    seed,
    shown,
    valid,
)
from conformance.protocols.evi.client import CHAT, Chat, Credentials, EviClient, fields
from conformance.protocols.evi.events import Server

WIRE = "PROTOCOLS.md §3 / the SDK's connect(): api_key or access_token query, X-Hume-Api-Key"

# The credentials a chat can present, and what the profile must give for each.
FORMS = {
    "api-key": ("api_key", "api_key"),
    "access-token": ("access_token", "access_token"),
    "header": ("header", "api_key"),
}


@dataclass(slots=True, kw_only=True)
class Attempt:
    """A socket opened with some credentials, and whether it was served a chat."""

    chat: Chat
    credentials: str
    closed: bool = False  # by the server, before the harness closed it

    @property
    def served(self) -> bool:
        return self.chat.metadata is not None

    @property
    def refused(self) -> bool:
        """Refused on the upgrade, or after it (closed with no chat_metadata)."""
        return self.chat.peer is None or (self.closed and not self.served)

    def observed(self) -> str:
        if self.chat.peer is None:
            return f"the upgrade answered {shown(self.chat.refusal)}"
        if self.served:
            return "a chat was served: " + shown(heads(self.chat.messages[:3]))
        closing = " then close" if self.closed else ", the socket left open"
        said = shown(heads(self.chat.messages)) if self.chat.messages else "nothing"
        return f"upgrade accepted, {said}{closing}"


async def _try(client: EviClient, name: str, credentials: Credentials, **query: str) -> Attempt:
    """Open a socket; an accepted upgrade gets timeouts.event to serve or refuse a chat."""
    chat = await client.attempt(name, credentials=credentials, query=query or None)
    if chat.peer is not None and chat.metadata is None and chat.closed is None:
        await client.wait(
            chat,
            lambda e: e.event in (Server.CHAT_METADATA, "close"),
            client.env.timeouts.event,
            after=0,
        )
    return Attempt(chat=chat, credentials=credentials.label, closed=chat.closed is not None)


@exchange("auth")
async def _auth(env: Env) -> dict[str, Attempt]:
    """Every credential form the profile gives, and credentials the server never issued."""
    auth = env.profile.section("auth")
    attempts: dict[str, Attempt] = {}
    async with EviClient(env) as client:
        for form, (kind, needs) in FORMS.items():
            if auth.get(needs) and (form != "header" or auth.get("header")):
                attempts[form] = await _try(client, form, client.credentials(kind))
        if auth.get("api_key") or auth.get("access_token"):
            attempts["none"] = await _try(client, "no-credentials", client.credentials("none"))
            wrong = "not-a-credential-of-this-server"
            attempts["wrong-api-key"] = await _try(
                client, "wrong-api-key", client.credentials("api_key", wrong)
            )
            attempts["wrong-access-token"] = await _try(
                client, "wrong-access-token", client.credentials("access_token", wrong)
            )
            attempts["unknown-config"] = await _try(
                client, "unknown-config", client.credentials(), config_id=str(uuid.uuid4())
            )
    return attempts


async def _attempts(ctx: CaseContext) -> dict[str, Attempt]:
    result: dict[str, Attempt] = await played(ctx, "auth")
    return result


def _needs_credentials(ctx: CaseContext) -> None:
    auth = ctx.profile.section("auth")
    if not (auth.get("api_key") or auth.get("access_token")):
        ctx.unsupported("the profile gives no credentials (auth.api_key, auth.access_token)")


HANDSHAKE = CATALOGUE.area("handshake", source=WIRE)


@HANDSHAKE.case(
    "EVI-HS-001",
    title="The chat socket takes each credential form",
    clause="A socket presenting valid credentials (the api_key or access_token query "
    "parameter, or the X-Hume-Api-Key header) is upgraded and served a chat.",
    level=Level.MUST,
    variants=[Variant(label=form, params={"form": form}) for form in FORMS],
)
async def credentials_accepted(ctx: CaseContext) -> None:
    form = ctx.params["form"]
    _, needs = FORMS[form]
    auth = ctx.profile.section("auth")
    if not auth.get(needs):
        ctx.unsupported(f"the profile gives no auth.{needs}")
    if form == "header" and not auth.get("header"):
        ctx.unsupported("the profile's auth.header is false")
    attempt = (await _attempts(ctx))[form]
    ctx.check(
        attempt.served,
        f"a socket with the profile's {attempt.credentials} was not served a chat",
        expected="101 Switching Protocols, then chat_metadata",
        observed=attempt.observed(),
    )


@HANDSHAKE.case(
    "EVI-HS-002",
    title="No chat without credentials",
    clause="A socket presenting no credentials is refused, and never served a chat "
    "(chat_metadata).",
    level=Level.MUST,
)
async def refused_without_credentials(ctx: CaseContext) -> None:
    _needs_credentials(ctx)
    attempt = (await _attempts(ctx))["none"]
    ctx.check(
        attempt.refused,
        "a socket without credentials was not refused",
        expected="HTTP 401 on the upgrade, or an error and the close",
        observed=attempt.observed(),
    )


@HANDSHAKE.case(
    "EVI-HS-003",
    title="No chat with credentials the server never issued",
    clause="A socket presenting an api_key or access_token the server does not know is refused "
    "(where the profile says the server verifies credentials: auth.verifies).",
    level=Level.MUST,
    source=f"{WIRE}; {OPEN} whether a server verifies keys (PROTOCOLS.md §3, credentials)",
)
async def refused_wrong_credentials(ctx: CaseContext) -> None:
    _needs_credentials(ctx)
    attempts = await _attempts(ctx)
    verifies = ctx.profile.section("auth").get("verifies") is True
    for form in ("wrong-api-key", "wrong-access-token"):
        ctx.check(
            attempts[form].refused,
            f"a socket with a wrong {attempts[form].credentials} was not refused"
            + (
                ""
                if verifies
                else " (a server that takes any key breaks no wire rule; set auth.verifies: "
                "true in the profile to require it)"
            ),
            expected="HTTP 401 on the upgrade, or an error and the close",
            observed=attempts[form].observed(),
            level=None if verifies else Level.MAY,
        )


@HANDSHAKE.case(
    "EVI-HS-004",
    title="A refusal is well-formed",
    clause="A refused socket is answered on the upgrade with an HTTP 4xx ([default] 401), or "
    "upgraded, sent a well-formed error and closed (open: either reading).",
    level=Level.MUST,
    source=f"{READING_DEFAULT} refusal; {OPEN} refusal after the upgrade; {seed('error')}",
)
async def refusal_form(ctx: CaseContext) -> None:
    _needs_credentials(ctx)
    attempts = await _attempts(ctx)
    refused = [a for key, a in attempts.items() if key.startswith(("none", "wrong")) and a.refused]
    if not refused:
        ctx.blocked("no socket was refused, so no refusal to judge (see EVI-HS-002, EVI-HS-003)")
    for attempt in refused:
        if attempt.chat.peer is None:
            status = (attempt.chat.refusal or {}).get("status")
            ctx.check(
                isinstance(status, int) and 400 <= status < 500,
                f"the upgrade was refused with HTTP {status}",
                expected="HTTP 4xx",
                observed=attempt.observed(),
            )
            ctx.check(
                status == 401,
                f"the refusal is HTTP {status}, not the [default] 401",
                expected="HTTP 401 ([default]; other statuses are another reading)",
                observed=attempt.observed(),
                level=Level.MAY,
            )
            continue
        errors = [e for e in attempt.chat.messages if e.event == Server.ERROR]
        ctx.check(
            bool(errors),
            "the socket was closed after the upgrade without an error saying why",
            expected="an error message, then the close",
            observed=attempt.observed(),
            level=Level.SHOULD,
        )
        for error in errors:
            valid(ctx, error)
            code_pinned(ctx, error, "unauthorized")


@HANDSHAKE.case(
    "EVI-HS-005",
    title="An unknown config_id is refused",
    clause="A socket naming a config_id the server does not know is refused ([default] HTTP "
    "404), not served a chat with some other configuration.",
    level=Level.SHOULD,
    source=f"{READING_DEFAULT} (config_id, the SDK's connect())",
)
async def unknown_config_refused(ctx: CaseContext) -> None:
    _needs_credentials(ctx)
    attempt = (await _attempts(ctx))["unknown-config"]
    ctx.check(
        attempt.refused,
        "a socket naming an unknown config_id was served a chat",
        expected="HTTP 404 on the upgrade, or an error and the close",
        observed=attempt.observed(),
    )
    for error in (e for e in attempt.chat.messages if e.event == Server.ERROR):
        valid(ctx, error, Level.MUST)
        code_pinned(ctx, error, "config_not_found")


# --- chat_metadata -------------------------------------------------------------------------------


async def _opened(ctx: CaseContext) -> list[Chat]:
    """The chats of the shared exchanges: each must open with chat_metadata. A chat the server
    refused, closed, left silent or opened with a malformed or other first message broke this
    very clause, so the exchanges were BLOCKED: judged on a chat of this case's own."""
    try:
        text = await played(ctx, "text")
        said = await played(ctx, "assistant-input")
    except Blocked:
        why = ctx.broken.get(CHAT)
        if why is None:
            raise
        async with EviClient(ctx) as client:
            chat = await client.attempt("chat")
        if chat.first is None or chat.first.event == "close":
            ctx.fail(why, expected="chat_metadata first", observed="no chat_metadata")
        return [chat]
    return [text.chat, text.bystander, said.chat]


METADATA = CATALOGUE.area("metadata", source=seed("chat_metadata"))


@METADATA.case(
    "EVI-META-001",
    title="chat_metadata comes first",
    clause="chat_metadata is the first message a client receives after the connection is "
    "established.",
    level=Level.MUST,
)
async def metadata_first(ctx: CaseContext) -> None:
    for chat in await _opened(ctx):
        first = chat.messages[0] if chat.messages else None
        ctx.check(
            first is not None and first.event == Server.CHAT_METADATA,
            f"the first message of {chat.name} is "
            + (first.event if first is not None else f"none within {ctx.timeouts.event:g} s"),
            expected="chat_metadata first",
            observed=shown(heads(chat.messages[:3])),
        )


@METADATA.case(
    "EVI-META-002",
    title="chat_metadata names the chat and its group",
    clause="chat_metadata is {chat_group_id, chat_id, request_id?}, ids as non-empty strings.",
    level=Level.MUST,
)
async def metadata_valid(ctx: CaseContext) -> None:
    for chat in await _opened(ctx):
        metadata = chat.metadata
        if metadata is None:
            ctx.fail(
                f"{chat.name} got no chat_metadata",
                expected="chat_metadata",
                observed=shown(heads(chat.messages[:3])),
            )
        valid(ctx, metadata)
        payload = fields(metadata)
        for key in ("chat_group_id", "chat_id"):
            ctx.check(
                isinstance(payload.get(key), str) and bool(payload.get(key)),
                f"chat_metadata.{key} is empty",
                expected=f"{key}: a non-empty string",
                observed=shown(payload),
            )
