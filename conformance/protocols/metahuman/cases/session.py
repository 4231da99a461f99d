"""A turn, event by event: session, input buffer, transcription, response text, timing."""

from __future__ import annotations

import re

from conformance.engine.context import CaseContext, Env
from conformance.engine.model import Blocked, Level
from conformance.engine.transcript import WireEvent
from conformance.fixtures import clip
from conformance.protocols.metahuman.cases.common import (
    CATALOGUE,
    SEED_EXAMPLES,
    SEED_OPERATIONS,
    TURN_ORDER,
    arrived,
    base_turn,
    joined,
    shown,
    valid,
)
from conformance.protocols.metahuman.client import MetaHumanClient, Mode, Turn, run_turn
from conformance.protocols.metahuman.events import Event, Role

# --- session -------------------------------------------------------------------------------


SESSION = CATALOGUE.area("session", source=f"{SEED_OPERATIONS}: RECEIVE session.updated")


async def _opening(ctx: CaseContext) -> WireEvent | None:
    """The answer to the profile's opening session.update: the base turn's; or, when an earlier
    exchange found the server breaking it (so the turn is BLOCKED), an exchange of this case's
    own, since these cases judge that very answer."""
    try:
        return (await base_turn(ctx)).updated
    except Blocked:
        if Event.SESSION_UPDATE not in ctx.broken:
            raise
    async with MetaHumanClient(ctx) as client:
        sender = await client.connect(Role.SENDER, "sender")
        after = len(sender.received)
        await sender.emit(Event.SESSION_UPDATE, client.session_update())
        wanted = (Event.SESSION_UPDATED, Event.CUSTOM_ERROR)
        answer = await client.answer(sender, wanted, ctx.timeouts.event, after)
        if answer is None and sender.ended:
            ctx.fail(
                "the server dropped the connection on a valid opening session.update",
                expected=f"session.updated within {ctx.timeouts.event.cited}",
                observed="the connection ended, no answer",
            )
        return answer


@SESSION.case(
    "MH-SES-001",
    title="session.update is answered with session.updated",
    clause="The server emits session.updated to the Sender when the session is updated.",
    level=Level.MUST,
)
async def updated_arrives(ctx: CaseContext) -> None:
    updated = await _opening(ctx)
    if updated is not None and updated.event == Event.CUSTOM_ERROR:
        ctx.fail(
            "the profile's session.update was refused with custom.error",
            expected=Event.SESSION_UPDATED,
            observed=f"custom.error {shown(updated.payload)}",
        )
    arrived(ctx, updated, Event.SESSION_UPDATED, ctx.timeouts.event)


@SESSION.case(
    "MH-SES-002",
    title="session.updated is {sessionId: uuid, success: bool}",
    clause="session.updated carries the session's id (a UUID) and whether the update succeeded.",
    level=Level.MUST,
    source=f"{SEED_EXAMPLES}: session.updated",
)
async def updated_payload(ctx: CaseContext) -> None:
    updated = arrived(ctx, await _opening(ctx), Event.SESSION_UPDATED, ctx.timeouts.event)
    valid(ctx, Event.SESSION_UPDATED, updated.payload)


@SESSION.case(
    "MH-SES-003",
    title="A valid session.update succeeds",
    clause="session.updated reports success true for a valid session configuration.",
    level=Level.SHOULD,
    source=f"{SEED_EXAMPLES}: session.updated (success: true)",
)
async def updated_success(ctx: CaseContext) -> None:
    t = await base_turn(ctx)
    updated = arrived(ctx, t.updated, Event.SESSION_UPDATED, ctx.timeouts.event)
    success = (updated.payload or {}).get("success") if isinstance(updated.payload, dict) else None
    ctx.check(
        success is True,
        "success is not true",
        expected="success: true",
        observed=shown(updated.payload),
    )


async def _two_updates(env: Env) -> list[str]:
    async with MetaHumanClient(env) as client:
        sender = await client.connect(Role.SENDER, "sender")
        ids = []
        for mode in (Mode(response_type="single"), Mode(response_type="chain")):
            answer = await client.configure(sender, client.session_update(mode))
            if answer is not None and isinstance(answer.payload, dict):
                ids.append(str(answer.payload.get("sessionId")))
        return ids


@SESSION.case(
    "MH-SES-004",
    title="A second session.update keeps the session",
    clause="Updating a session again keeps its sessionId (the seed does not say; informational).",
    level=Level.MAY,
    source="PROTOCOLS.md §1 (open)",
)
async def update_keeps_id(ctx: CaseContext) -> None:
    ids = await ctx.scenario("two-updates", _two_updates)
    ctx.check(
        len(ids) == 2 and ids[0] == ids[1],
        "the second session.update gave another sessionId",
        expected="the same sessionId twice",
        observed=shown(ids),
    )


# --- input buffer --------------------------------------------------------------------------


def _initialized(t: Turn) -> list[object]:
    return [e.payload for e in t.received(t.sender, Event.INPUT_BUFFER_INITIALIZED)]


INPUT_BUFFER = CATALOGUE.area(
    "input buffer", source=f"{SEED_OPERATIONS}: RECEIVE input.buffer.initialized"
)


@INPUT_BUFFER.case(
    "MH-BUF-001",
    title="input.buffer.initialized on the first chunk",
    clause="The server sends input.buffer.initialized to the Sender when a first audio chunk is "
    "received.",
    level=Level.MUST,
)
async def initialized_arrives(ctx: CaseContext) -> None:
    t = await base_turn(ctx)
    arrived(ctx, t.updated, Event.SESSION_UPDATED, ctx.timeouts.event)
    ctx.check(
        bool(_initialized(t)),
        f"no input.buffer.initialized after {t.chunks} chunks and a commit",
        expected="input.buffer.initialized {sessionId}",
        observed="nothing",
    )


@INPUT_BUFFER.case(
    "MH-BUF-002",
    title="input.buffer.initialized names the session",
    clause="input.buffer.initialized is {sessionId}, the id session.updated gave.",
    level=Level.MUST,
    source=f"{SEED_EXAMPLES}: input.buffer.initialized (the same id as session.updated)",
)
async def initialized_payload(ctx: CaseContext) -> None:
    t = await base_turn(ctx)
    arrived(ctx, t.updated, Event.SESSION_UPDATED, ctx.timeouts.event)
    payloads = _initialized(t)
    if not payloads:
        ctx.fail("no input.buffer.initialized to judge", expected="one", observed="none")
    valid(ctx, Event.INPUT_BUFFER_INITIALIZED, payloads[0])
    observed = payloads[0].get("sessionId") if isinstance(payloads[0], dict) else None
    ctx.check(
        observed == t.session_id,
        "input.buffer.initialized names another session than session.updated",
        expected=f"sessionId {t.session_id}",
        observed=f"sessionId {observed}",
    )


@INPUT_BUFFER.case(
    "MH-BUF-003",
    title="input.buffer.initialized once per buffer",
    clause="input.buffer.initialized is sent for the first chunk of a buffer, not for every chunk.",
    level=Level.MUST,
    source=f"{SEED_OPERATIONS}: input.buffer.initialized ('when a first audio chunk is received')",
)
async def initialized_once(ctx: CaseContext) -> None:
    t = await base_turn(ctx)
    arrived(ctx, t.updated, Event.SESSION_UPDATED, ctx.timeouts.event)
    count = len(_initialized(t))
    if t.chunks < 2:
        ctx.harness("the audio fits one chunk; lower audio.chunk_bytes to test this clause")
    ctx.check(
        count == 1,
        f"input.buffer.initialized came {count} times for one buffer of {t.chunks} chunks",
        expected="exactly 1",
        observed=str(count),
    )


async def _two_buffers(env: Env) -> tuple[int, int]:
    """Two turns on one socket: initialized counts after the first and the second buffer."""
    async with MetaHumanClient(env) as client:
        sender = await client.connect(Role.SENDER, "sender")
        await client.configure(sender, client.session_update())
        counts = []
        for _ in range(2):
            start = len(sender.received)
            await client.append(sender)
            await client.answer(
                sender, (Event.INPUT_BUFFER_INITIALIZED,), env.timeouts.event, start
            )
            counts.append(len(sender.events(Event.INPUT_BUFFER_INITIALIZED)))
            await sender.emit(Event.INPUT_BUFFER_COMMIT)
            await client.answer(
                sender, (Event.REQUEST_TRANSCRIBE_DONE,), env.timeouts.transcription, start
            )
        return counts[0], counts[1]


@INPUT_BUFFER.case(
    "MH-BUF-004",
    title="input.buffer.initialized again for the next buffer",
    clause="After a commit, the first chunk of the next buffer is announced again.",
    level=Level.MUST,
    source="PROTOCOLS.md §1 Operations #4 ('when the first chunk of a buffer is received')",
)
async def initialized_per_buffer(ctx: CaseContext) -> None:
    first, second = await ctx.scenario("two-buffers", _two_buffers)
    ctx.check(
        first >= 1 and second > first,
        "the second buffer was not announced with input.buffer.initialized",
        expected="one more input.buffer.initialized for the second buffer",
        observed=f"{first} after the first buffer, {second} after the second",
    )


@INPUT_BUFFER.case(
    "MH-BUF-005",
    title="input.buffer.initialized before request.transcribe.done",
    clause="On the Sender's socket, input.buffer.initialized precedes the transcription of its "
    "buffer.",
    level=Level.SHOULD,
    source=TURN_ORDER,
)
async def initialized_before_transcription(ctx: CaseContext) -> None:
    t = await base_turn(ctx)
    order = [e.event for e in (t.sender.received if t.sender else [])]
    if Event.INPUT_BUFFER_INITIALIZED not in order or Event.REQUEST_TRANSCRIBE_DONE not in order:
        ctx.blocked("one of the two events never came (see MH-BUF-001, MH-STT-001)")
    ctx.check(
        order.index(Event.INPUT_BUFFER_INITIALIZED) < order.index(Event.REQUEST_TRANSCRIBE_DONE),
        "request.transcribe.done came before input.buffer.initialized",
        expected="input.buffer.initialized, then request.transcribe.done",
        observed=" → ".join(order),
    )


# --- transcription -------------------------------------------------------------------------


TRANSCRIPTION = CATALOGUE.area(
    "transcription", source=f"{SEED_OPERATIONS}: RECEIVE request.transcribe.done"
)


@TRANSCRIPTION.case(
    "MH-STT-001",
    title="request.transcribe.done after the commit",
    clause="The server sends the transcribed text to the Sender (request.transcribe.done).",
    level=Level.MUST,
)
async def transcription_arrives(ctx: CaseContext) -> None:
    t = await base_turn(ctx)
    arrived(ctx, t.updated, Event.SESSION_UPDATED, ctx.timeouts.event)
    arrived(ctx, t.transcribed, Event.REQUEST_TRANSCRIBE_DONE, ctx.timeouts.transcription)


@TRANSCRIPTION.case(
    "MH-STT-002",
    title="request.transcribe.done is {text, sentiment, language}",
    clause="request.transcribe.done carries the text, its language, and a sentiment "
    "(empty or absent when sentiment analysis is off).",
    level=Level.MUST,
    source=f"{SEED_EXAMPLES}: request.transcribe.done; PROTOCOLS.md §1 [default] sentiment",
)
async def transcription_payload(ctx: CaseContext) -> None:
    t = await base_turn(ctx)
    event = arrived(ctx, t.transcribed, Event.REQUEST_TRANSCRIBE_DONE, ctx.timeouts.transcription)
    valid(ctx, Event.REQUEST_TRANSCRIBE_DONE, event.payload)


def _words(text: str) -> list[str]:
    return re.findall(r"[a-z']+", text.lower())


@TRANSCRIPTION.case(
    "MH-STT-003",
    title="The transcript has the words spoken",
    clause="The transcript matches the fixture's words (wording is never a failure).",
    level=Level.MAY,
    source="fixtures/audio/index.json (the clip's known text)",
)
async def transcription_words(ctx: CaseContext) -> None:
    t = await base_turn(ctx)
    event = arrived(ctx, t.transcribed, Event.REQUEST_TRANSCRIBE_DONE, ctx.timeouts.transcription)
    spoken = _words(clip(str(ctx.profile.section("audio").get("fixture"))).text)
    heard = _words(
        str((event.payload or {}).get("text", "")) if isinstance(event.payload, dict) else ""
    )
    common = len(set(spoken) & set(heard))
    ctx.check(
        common >= 0.6 * len(set(spoken)),
        f"only {common} of the {len(set(spoken))} words spoken are in the transcript",
        expected=" ".join(spoken),
        observed=" ".join(heard),
    )


async def _sentiment_turn(env: Env) -> Turn:
    return await run_turn(env, Mode(), STT={"sentimentAnalysis": True})


@TRANSCRIPTION.case(
    "MH-STT-004",
    title="Sentiment when sentiment analysis is on",
    clause="With STT.sentimentAnalysis true, request.transcribe.done carries a non-empty "
    "sentiment.",
    level=Level.SHOULD,
    source=f"{SEED_EXAMPLES}: STT.sentimentAnalysis, request.transcribe.done.sentiment",
    requires={"sentiment": True},
)
async def sentiment(ctx: CaseContext) -> None:
    t = await ctx.scenario("turn[sentiment]", _sentiment_turn)
    event = arrived(ctx, t.transcribed, Event.REQUEST_TRANSCRIBE_DONE, ctx.timeouts.transcription)
    value = event.payload.get("sentiment") if isinstance(event.payload, dict) else None
    ctx.check(
        isinstance(value, str) and value != "",
        "no sentiment although sentimentAnalysis is true",
        expected="a non-empty sentiment",
        observed=shown(event.payload),
    )


# --- response text -------------------------------------------------------------------------


RESPONSE_TEXT = CATALOGUE.area("response text", source=TURN_ORDER)


@RESPONSE_TEXT.case(
    "MH-TXT-001",
    title="response.text reaches the Receiver",
    clause="The server sends the LLM response to the Receiver (response.text).",
    level=Level.MUST,
    source=f"{SEED_OPERATIONS}: RECEIVE response.text (#Receiver)",
)
async def text_arrives(ctx: CaseContext) -> None:
    t = await base_turn(ctx)
    arrived(ctx, t.transcribed, Event.REQUEST_TRANSCRIBE_DONE, ctx.timeouts.transcription)
    joined(ctx, t)
    to_sender = t.receiver is not t.sender and bool(t.received(t.sender, Event.RESPONSE_TEXT))
    where = " (the Sender's socket got it)" if to_sender else ""
    ctx.check(
        bool(t.texts),
        f"the Receiver got no response.text{where}",
        expected="response.text {text} on the Receiver's socket",
        observed="nothing" + where,
    )


@RESPONSE_TEXT.case(
    "MH-TXT-002",
    title="response.text is {text}",
    clause="response.text carries the LLM's answer as text.",
    level=Level.MUST,
    source=f"{SEED_EXAMPLES}: response.text",
)
async def text_payload(ctx: CaseContext) -> None:
    t = await base_turn(ctx)
    if not t.texts:
        ctx.fail("no response.text to judge", expected="one", observed="none")
    valid(ctx, Event.RESPONSE_TEXT, t.texts[0].payload)


@RESPONSE_TEXT.case(
    "MH-TXT-003",
    title="response.text before the first audio delta",
    clause="On the Receiver's socket, response.text precedes the response's audio deltas.",
    level=Level.SHOULD,
)
async def text_before_audio(ctx: CaseContext) -> None:
    t = await base_turn(ctx)
    if not t.texts or not t.deltas:
        ctx.blocked("response.text or the deltas never came (see MH-TXT-001, MH-DELTA-002)")
    ctx.check(
        t.texts[0].at <= t.deltas[0].at,
        "the first audio delta came before response.text",
        expected="response.text, then response.audio.delta",
        observed=f"delta at {t.deltas[0].at * 1000:.0f} ms, text at {t.texts[0].at * 1000:.0f} ms",
    )


@RESPONSE_TEXT.case(
    "MH-TXT-004",
    title="One response.text per turn",
    clause="Each turn gives one response.text.",
    level=Level.SHOULD,
    source="PROTOCOLS.md §1 Operations #7",
)
async def one_text(ctx: CaseContext) -> None:
    t = await base_turn(ctx)
    ctx.check(
        len(t.texts) == 1,
        f"{len(t.texts)} response.text for one turn",
        expected="1",
        observed=str(len(t.texts)),
    )


@RESPONSE_TEXT.case(
    "MH-TXT-005",
    title="Transcription before the answer, across the two sockets",
    clause="The Sender gets request.transcribe.done before the Receiver gets response.text "
    "(two sockets give no ordering guarantee; informational).",
    level=Level.MAY,
)
async def transcription_before_text_across_sockets(ctx: CaseContext) -> None:
    t = await base_turn(ctx)
    if t.transcribed is None or not t.texts:
        ctx.blocked(
            "request.transcribe.done or response.text never came (see MH-STT-001, MH-TXT-001)"
        )
    ctx.check(
        t.transcribed.at <= t.texts[0].at,
        "response.text reached the Receiver before request.transcribe.done reached the Sender",
        expected="request.transcribe.done (Sender), then response.text (Receiver)",
        observed=f"transcribe.done at {t.transcribed.at * 1000:.0f} ms, "
        f"text at {t.texts[0].at * 1000:.0f} ms",
    )


# --- timing --------------------------------------------------------------------------------


TIMING = CATALOGUE.area("timing", source="the profile's timeouts.first_audio")


@TIMING.case(
    "MH-TIME-001",
    title="First audio within the profile's timeout",
    clause="The first response.audio.delta arrives within timeouts.first_audio of the commit.",
    level=Level.MUST,
)
async def first_audio_in_time(ctx: CaseContext) -> None:
    t = await base_turn(ctx)
    limit = ctx.timeouts.first_audio
    if not t.deltas:
        arrived(ctx, None, Event.RESPONSE_AUDIO_DELTA, ctx.timeouts.first_audio)
    waited = t.deltas[0].at - t.commit_at
    ctx.check(
        waited <= limit,
        f"the first audio delta came {waited:.2f} s after the commit",
        expected=f"within {limit.cited}",
        observed=f"{waited:.2f} s",
    )
