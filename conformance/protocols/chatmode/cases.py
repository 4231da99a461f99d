"""The Chat Mode case catalogue (PROTOCOLS.md §2): the token flow, the connection info, the
chat socket, text and voice turns, the answer's audio, invalid messages, isolation."""

from __future__ import annotations

import asyncio
import base64
from collections.abc import Awaitable, Callable, Mapping
from typing import Any
from urllib.parse import urlsplit

from conformance import audio, schemas
from conformance.engine.catalogue import Catalogue, Variant
from conformance.engine.context import CaseContext, Env
from conformance.engine.model import Level
from conformance.engine.transcript import summarize
from conformance.protocols.chatmode.client import ChatClient, Turn, recognised, run_turn
from conformance.transports.http import HttpAnswer

__all__ = ["CATALOGUE", "ordered"]

CATALOGUE = Catalogue()
AREAS = (
    "token",
    "connection",
    "socket",
    "text turn",
    "voice turn",
    "answer audio",
    "errors",
    "isolation",
)
GUIDE = "PROTOCOLS.md §2 [doc, publisher's guide]"
CLIENT = "PROTOCOLS.md §2 [doc, publisher's client]"
INVALID = "PROTOCOLS.md §2 [default] invalid messages"
SEED = "seed 002 (Chat Mode)"


def ordered() -> list[Any]:
    return sorted(CATALOGUE, key=lambda case: (AREAS.index(case.area), case.id))


def _shown(value: Any) -> str:
    return repr(summarize(value))


def _valid(ctx: CaseContext, message: str, payload: Any) -> None:
    violations = schemas.errors("chatmode", message, payload)
    if violations:
        first = violations[0]
        ctx.fail(
            f"{message} violates its schema at {first.path or '/'}: {first.message}",
            expected=f"a payload valid against schemas/chatmode/messages/{message}.schema.json",
            observed=_shown(payload),
        )


def _status(ctx: CaseContext, answer: HttpAnswer, expected: set[int], what: str) -> None:
    ctx.check(
        answer.status in expected,
        f"{what} answered HTTP {answer.status}",
        expected=f"HTTP {' or '.join(map(str, sorted(expected)))}",
        observed=f"HTTP {answer.status} {_shown(_body(answer))}",
    )


def _carries(value: Any, code: str) -> bool:
    """Whether `code` is a string anywhere in a JSON value (a key or a value, at any depth)."""
    if isinstance(value, str):
        return value == code
    if isinstance(value, Mapping):
        return any(k == code or _carries(v, code) for k, v in value.items())
    if isinstance(value, list):
        return any(_carries(v, code) for v in value)
    return False


def _body(answer: HttpAnswer) -> Any:
    parsed = answer.json()
    return parsed if parsed is not None else answer.body[:80]


async def _scenario(ctx: CaseContext, key: str, run: Callable[[Env], Awaitable[Any]]) -> Any:
    return await ctx.scenario(f"chatmode:{key}", run)


# --- token flow ----------------------------------------------------------------------------


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
    @CATALOGUE.case(id, title=title, clause=clause, level=level, area="token", source=GUIDE)
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
        _status(ctx, answer, status, "POST /jwt")
        body = answer.json()
        if error is None:
            _valid(ctx, "jwt.response", body)
            ctx.check(
                isinstance(body, Mapping)
                and body.get("result") == "success"
                and bool(body.get("jwt")),
                "no token in a successful answer",
                expected='{"result": "success", "jwt": ...}',
                observed=_shown(body),
            )
        else:
            # The guide names the code of each refusal but shows no body, so where the code
            # sits is open: anywhere in the body is the code given (SHOULD); the suite's
            # [default] shape {result: "failure", error: <code>} is informational only.
            ctx.check(
                _carries(body, error) or error.encode() in answer.body,
                f"the refusal does not carry the error code {error!r}",
                expected=f"a body naming {error!r}",
                observed=_shown(_body(answer)),
                level=Level.SHOULD,
            )
            default = isinstance(body, Mapping) and body.get("error") == error
            ctx.check(
                default and not schemas.errors("chatmode", "jwt.error", body),
                "the refusal's body is not the suite's [default] shape",
                expected=f'{{"result": "failure", "error": "{error}"}} (jwt.error, [default])',
                observed=_shown(_body(answer)),
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


# --- connection info -----------------------------------------------------------------------


def _expired(ctx: CaseContext) -> str:
    token = ctx.profile.section("auth").get("expired_token")
    if not token:
        ctx.unsupported("the profile gives no auth.expired_token")
    return str(token)


@CATALOGUE.case(
    "CM-CON-001",
    title="Connection info with a token",
    clause="GET /connection with Authorization: Bearer <jwt> answers 200 "
    "{status, session, avatars_info, languages}.",
    level=Level.MUST,
    area="connection",
    source=GUIDE,
)
async def connection_info(ctx: CaseContext) -> None:
    async with ChatClient(ctx) as client:
        answer = await client.connection(await client.token())
    _status(ctx, answer, {200}, "GET /connection")
    _valid(ctx, "connection.response", answer.json())


@CATALOGUE.case(
    "CM-CON-002",
    title="Connection info needs a token",
    clause="GET /connection without a token is refused (401 or 403).",
    level=Level.MUST,
    area="connection",
    source=GUIDE,
)
async def connection_needs_token(ctx: CaseContext) -> None:
    async with ChatClient(ctx) as client:
        answer = await client.connection(None)
    _status(ctx, answer, {401, 403}, "GET /connection without a token")


@CATALOGUE.case(
    "CM-CON-003",
    title="An expired token gives 403",
    clause="GET /connection with an expired token answers 403.",
    level=Level.MUST,
    area="connection",
    source=GUIDE,
)
async def connection_expired(ctx: CaseContext) -> None:
    token = _expired(ctx)
    async with ChatClient(ctx) as client:
        answer = await client.connection(token)
    _status(ctx, answer, {403}, "GET /connection with an expired token")


# --- the socket ----------------------------------------------------------------------------


@CATALOGUE.case(
    "CM-WS-001",
    title="The socket takes a fresh token",
    clause="/ws/chat?token=<jwt> accepts the upgrade with a fresh token.",
    level=Level.MUST,
    area="socket",
    source=GUIDE,
)
async def socket_accepts(ctx: CaseContext) -> None:
    async with ChatClient(ctx) as client:
        peer, refusal = await client.attempt("user", await client.token())
    ctx.check(
        peer is not None,
        "the upgrade was refused",
        expected="101 Switching Protocols",
        observed=_shown(refusal),
    )


@CATALOGUE.case(
    "CM-WS-002",
    title="The socket refuses a bad token",
    clause="/ws/chat refuses the upgrade without a token or with one that is not the server's.",
    level=Level.MUST,
    area="socket",
    source=GUIDE,
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


@CATALOGUE.case(
    "CM-WS-003",
    title="The socket refuses an expired token with 403",
    clause="An expired token gives 403 on the upgrade.",
    level=Level.MUST,
    area="socket",
    source=GUIDE,
)
async def socket_expired(ctx: CaseContext) -> None:
    token = _expired(ctx)
    async with ChatClient(ctx) as client:
        peer, refusal = await client.attempt("user", token)
    status = refusal.get("status") if isinstance(refusal, Mapping) else None
    ctx.check(
        peer is None and status == 403,
        "an expired token was not refused with 403",
        expected="HTTP 403",
        observed="101 Switching Protocols" if peer else f"HTTP {status}",
    )


# --- turns ---------------------------------------------------------------------------------


async def _text(ctx: CaseContext) -> Turn:
    turn: Turn = await _scenario(ctx, "text", lambda env: run_turn(env, "text"))
    return turn


def _nothing(ctx: CaseContext, t: Turn, timeout: str, what: str) -> str:
    """Why no answer came, in the words of the wait that ended (ChatClient.answer)."""
    kinds = [e.event for e in t.received]
    if "close" in kinds:
        return f"the socket closed before {what} came"
    strange = sorted({e.event for e in t.received if not recognised(e)})
    if strange:
        return (
            f"awaited {what}; the server sent messages of no known type ({', '.join(strange)}), "
            f"then nothing for {ctx.timeout('stall'):g} s (timeouts.stall)"
        )
    return f"awaited {what} within {ctx.timeout(timeout):g} s (timeouts.{timeout}); nothing came"


def _answered(ctx: CaseContext, t: Turn) -> Mapping[str, Any]:
    if t.answer is None:
        ctx.fail(
            _nothing(ctx, t, "turn", "an incoming or system message"),
            expected="{type: incoming, content, fileUrl?}",
            observed=_shown([e.event for e in t.received]),
        )
    ctx.check(
        t.answer.event == "incoming",
        "the message was answered as an error",
        expected="{type: incoming, ...}",
        observed=_shown(t.answer.payload),
    )
    payload = t.answer.payload
    return payload if isinstance(payload, Mapping) else {}


@CATALOGUE.case(
    "CM-TXT-001",
    title="A text message is answered",
    clause="A text message gets an incoming message with the answer.",
    level=Level.MUST,
    area="text turn",
    source=SEED,
)
async def text_answered(ctx: CaseContext) -> None:
    _answered(ctx, await _text(ctx))


@CATALOGUE.case(
    "CM-TXT-002",
    title="Server messages are {type, content, fileUrl?, timestamp?}",
    clause="Every server message is {type: system|incoming|event, content, fileUrl?, timestamp?}.",
    level=Level.MUST,
    area="text turn",
    source=CLIENT,
)
async def server_messages_valid(ctx: CaseContext) -> None:
    t = await _text(ctx)
    if not t.received:
        ctx.fail("no server message to judge", expected="at least the answer", observed="nothing")
    for event in t.received:
        if event.event not in ("close", "refused"):
            _valid(ctx, "server.message", event.payload)


@CATALOGUE.case(
    "CM-TXT-003",
    title="Nothing after the answer but events",
    clause="No event follows the incoming answer of the same turn (the order is not "
    "documented; informational).",
    level=Level.MAY,
    area="text turn",
    source=CLIENT,
)
async def order(ctx: CaseContext) -> None:
    t = await _text(ctx)
    kinds = [e.event for e in t.received]
    ctx.check(
        "incoming" not in kinds or "event" not in kinds[kinds.index("incoming") :],
        "an event came after the answer",
        expected="events, then incoming",
        observed=" → ".join(kinds),
    )


@CATALOGUE.case(
    "CM-TXT-004",
    title="The optional session field is accepted",
    clause="A text message with the optional `session` field is answered.",
    level=Level.MUST,
    area="text turn",
    source=SEED,
)
async def with_session(ctx: CaseContext) -> None:
    t = await _scenario(
        ctx, "text+session", lambda env: run_turn(env, "text", session="session-identifier")
    )
    _answered(ctx, t)


VOICE = [
    Variant(label=fmt, params={"format": fmt}, requires={"voice_formats": fmt})
    for fmt in ("wav", "webm")
]


@CATALOGUE.case(
    "CM-VOI-001",
    title="A voice message is answered",
    clause="A voice message (16 kHz mono, base64) in an accepted format gets an incoming answer.",
    level=Level.MUST,
    area="voice turn",
    source=SEED,
    variants=VOICE,
)
async def voice_answered(ctx: CaseContext) -> None:
    fmt = ctx.params["format"]
    _answered(ctx, await _scenario(ctx, f"voice-{fmt}", lambda env: run_turn(env, "voice", fmt)))


@CATALOGUE.case(
    "CM-VOI-002",
    title="Push-to-talk is accepted",
    clause="A voice message with isPushToTalk true is answered.",
    level=Level.MUST,
    area="voice turn",
    source=SEED,
    requires={"push_to_talk": True},
)
async def push_to_talk(ctx: CaseContext) -> None:
    fmt = str(ctx.profile.section("audio").get("format"))
    plain = await _scenario(ctx, f"voice-{fmt}", lambda env: run_turn(env, "voice", fmt))
    if plain.answer is None:
        # A server that answers no voice message tells nothing about push-to-talk, and a
        # second wait for an answer that does not come would only slow the run down.
        ctx.blocked(f"a voice message got no answer (CM-VOI-001[{fmt}])")
    _answered(
        ctx,
        await _scenario(ctx, "voice-ptt", lambda env: run_turn(env, "voice", isPushToTalk=True)),
    )


# --- the answer's audio --------------------------------------------------------------------


async def _file(ctx: CaseContext, *, fetch: bool = False) -> tuple[Mapping[str, Any], HttpAnswer]:
    """The answer and what its fileUrl served; `fetch`: this case judges the fetch itself."""
    t = await _text(ctx)
    if t.answer is None or t.answer.event != "incoming":
        ctx.blocked("the text message got no incoming answer (CM-TXT-001)")
    payload = _answered(ctx, t)
    if not payload.get("fileUrl"):
        ctx.unsupported("the answer has no fileUrl (it is optional)")
    if t.file_error and not fetch:
        ctx.blocked("the fileUrl could not be fetched (CM-AUD-001)")
    if t.file_error:
        ctx.fail(
            f"the fileUrl could not be fetched: {t.file_error}",
            expected="an HTTP answer serving the answer's audio",
            observed=t.file_error,
        )
    if t.file is None:
        ctx.harness("the fileUrl was not fetched")
    return payload, t.file


@CATALOGUE.case(
    "CM-AUD-001",
    title="fileUrl is reachable",
    clause="The answer's fileUrl serves the answer's audio (HTTP 200).",
    level=Level.MUST,
    area="answer audio",
    source=CLIENT,
)
async def file_reachable(ctx: CaseContext) -> None:
    payload, file = await _file(ctx, fetch=True)
    url = str(payload.get("fileUrl"))
    _status(ctx, file, {200}, f"GET {url}")
    if not urlsplit(url).scheme:
        # The documents do not say whether fileUrl is absolute; a relative one is fetched
        # from the server's own URL, as its users' players would.
        ctx.note(f"fileUrl {url!r} is relative; fetched from the server's URL")


@CATALOGUE.case(
    "CM-AUD-002",
    title="fileUrl is served as what it is",
    clause="The fileUrl's Content-Type is audio/* or video/*, and the bytes are that kind of file.",
    level=Level.MUST,
    area="answer audio",
    source=CLIENT,
)
async def file_type(ctx: CaseContext) -> None:
    _, file = await _file(ctx)
    ctx.check(
        file.content_type.startswith(("audio/", "video/")),
        f"served as {file.content_type}",
        expected="audio/* or video/*",
        observed=file.content_type,
    )
    ctx.check(
        audio.sniff(file.body) is not None,
        "the bytes are no audio container",
        expected="mp3, wav, ogg, webm or flac",
        observed=file.body[:12].hex(),
    )


@CATALOGUE.case(
    "CM-AUD-003",
    title="The answer's audio decodes",
    clause="The audio at fileUrl decodes.",
    level=Level.MUST,
    area="answer audio",
    source=CLIENT,
)
async def file_decodes(ctx: CaseContext) -> None:
    _, file = await _file(ctx)
    try:
        audio.decode(file.body)
    except audio.AudioDecodeError as exc:
        ctx.fail(
            f"the audio does not decode: {exc}",
            expected="audio that decodes",
            observed=f"{len(file.body)} bytes",
        )


@CATALOGUE.case(
    "CM-AUD-004",
    title="The answer's audio is long enough",
    clause="The audio lasts at least a second per 40 characters of the answer's text.",
    level=Level.SHOULD,
    area="answer audio",
    source=CLIENT,
)
async def file_length(ctx: CaseContext) -> None:
    payload, file = await _file(ctx)
    try:
        ms = audio.duration_ms(audio.decode(file.body))
    except audio.AudioDecodeError:
        ctx.unsupported("the audio does not decode (see CM-AUD-003)")
    chars = len(str(payload.get("content", "")))
    ctx.check(
        ms >= 1000 * chars / 40,
        f"{ms} ms of audio for {chars} characters",
        expected=f"at least {1000 * chars / 40:.0f} ms",
        observed=f"{ms} ms",
    )


# --- invalid messages ----------------------------------------------------------------------


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
        turn.answer = await client.reply(peer, start, "event")
        began = any(e.event == "event" for e in peer.received[start:])
        if turn.answer is None and began and peer.connected:
            # It began answering (a notification): a lenient server's whole answer to the
            # message it accepted takes a turn's time, not an error's.
            turn.answer = await client.reply(peer, start, "turn")
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
    @CATALOGUE.case(
        id,
        title=title,
        clause=f"{bad} is answered with a system message, and the socket stays open and usable "
        "(answering it as a valid message is lenient: NON-STRICT).",
        level=Level.MUST,
        area="errors",
        source=INVALID,
        requires=requires,
    )
    async def run(ctx: CaseContext) -> None:
        t = await _scenario(ctx, f"invalid:{id}", lambda env: _invalid(env, make))
        if t.answer is None:
            ctx.fail(
                _nothing(ctx, t, "event", "a system message"),
                expected='{"type": "system", "content": <reason>}',
                observed=_shown([e.event for e in t.received]),
            )
        kind = t.answer.event
        ctx.check(
            kind in ("system", "incoming"),
            f"{bad} was answered with a message of no known type ({kind}), not a system one"
            if not recognised(t.answer)
            else f"{bad} was answered with a message of type {kind}, not a system message",
            expected="type system",
            observed=_shown(t.answer.payload),
        )
        _valid(ctx, "server.message", t.answer.payload)
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
            observed=_shown(t.answer.payload),
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


# --- isolation -----------------------------------------------------------------------------


async def _two_users(env: Env) -> list[str]:
    async with ChatClient(env) as client:
        bystander = await client.open(
            "other-user", env.profile.section("auth").get("other_user_id")
        )
        heard = len(bystander.received)
        await run_turn(env, "text")
        await asyncio.sleep(env.timeout("silence"))
        return [e.event for e in bystander.received[heard:]]


@CATALOGUE.case(
    "CM-ISO-001",
    title="Answers go to the user who asked",
    clause="A user's answer reaches that user's socket and no other user's.",
    level=Level.MUST,
    area="isolation",
    source=CLIENT,
)
async def isolated(ctx: CaseContext) -> None:
    heard = await _scenario(ctx, "two-users", _two_users)
    ctx.check(
        not heard,
        f"another user's socket got {heard}",
        expected="nothing on the other user's socket",
        observed=_shown(heard),
    )
