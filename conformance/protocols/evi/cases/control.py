"""Controlling the assistant: pause and resume, and interrupting it by speaking."""

from __future__ import annotations

from conformance.engine.context import CaseContext, Env
from conformance.engine.model import Level
from conformance.protocols.evi.cases.common import (
    CATALOGUE,
    OPEN,
    READING_DEFAULT,
    answered,
    exchange,
    heads,
    played,
    prompt,
    seed,
    shown,
)
from conformance.protocols.evi.client import EviClient, Interruption, Paused, fields
from conformance.protocols.evi.events import ANSWER, Server

# --- pause and resume ---------------------------------------------------------------------------

PAUSE = CATALOGUE.area(
    "pause",
    source=seed("pause_assistant_message", "resume_assistant_message"),
    requires={"pause": True},
)


@exchange("pause")
async def _pause(env: Env) -> Paused:
    async with EviClient(env) as client:
        chat = await client.open("paused")
        return await client.paused(chat, [str(q) for q in prompt(env, "pause")])


async def _paused(ctx: CaseContext) -> Paused:
    seen: Paused = await played(ctx, "pause")
    return seen


@PAUSE.case(
    "EVI-PAUSE-001",
    title="Nothing from the assistant while paused",
    clause="After pause_assistant_message the assistant does not respond (no assistant_message, "
    "audio_output or assistant_end) until resume_assistant_message.",
    level=Level.MUST,
)
async def silent_while_paused(ctx: CaseContext) -> None:
    seen = await _paused(ctx)
    spoken = [e for e in seen.during if e.event in (*ANSWER, Server.ASSISTANT_END)]
    ctx.check(
        not spoken,
        f"the assistant sent {len(spoken)} messages while paused",
        expected="user_message transcripts only",
        observed=shown(heads(seen.during)),
    )


@PAUSE.case(
    "EVI-PAUSE-002",
    title="Transcripts go on while paused",
    clause="While paused, each user input is still transcribed (a user_message each).",
    level=Level.SHOULD,
)
async def transcripts_while_paused(ctx: CaseContext) -> None:
    seen = await _paused(ctx)
    asked = len(prompt(ctx, "pause"))
    users = [e for e in seen.during if e.event == Server.USER_MESSAGE]
    ctx.check(
        len(users) >= asked,
        f"{len(users)} user_message for {asked} user inputs while paused",
        expected=f"{asked} user_message",
        observed=shown(heads(seen.during)),
    )


@PAUSE.case(
    "EVI-PAUSE-003",
    title="The assistant answers on resume",
    clause="After resume_assistant_message the assistant answers what was said during the pause "
    "(assistant_message(s), then assistant_end).",
    level=Level.MUST,
)
async def answers_on_resume(ctx: CaseContext) -> None:
    seen = await _paused(ctx)
    answered(ctx, seen.resumed, "resume_assistant_message")


@PAUSE.case(
    "EVI-PAUSE-004",
    title="One answer after a pause",
    clause="On resume the assistant answers only the last user message of the pause: one turn, not "
    "one per message.",
    level=Level.MUST,
)
async def one_answer(ctx: CaseContext) -> None:
    seen = await _paused(ctx)
    turn = answered(ctx, seen.resumed, "resume_assistant_message")
    ends = len(turn.of(Server.ASSISTANT_END)) + sum(
        e.event == Server.ASSISTANT_END for e in seen.after
    )
    ctx.check(
        ends == 1,
        f"{ends} answers after resume_assistant_message",
        expected="one assistant_end",
        observed=shown(heads([*turn.events, *seen.after])),
    )


# --- interruption -------------------------------------------------------------------------------

INTERRUPTION = CATALOGUE.area(
    "interruption", source=seed("user_interruption"), requires={"interruption": True}
)


@exchange("interrupt")
async def interruption(env: Env) -> Interruption:
    async with EviClient(env) as client:
        chat = await client.open("interrupted")
        await client.settings(chat, audio=client.pcm_settings())
        return await client.interrupt(chat, str(prompt(env, "long")))


async def _interrupted(ctx: CaseContext) -> tuple[Interruption, int, float]:
    """The exchange, the index of its user_interruption and when the speech began; FAILED
    when no user_interruption came."""
    seen: Interruption = await played(ctx, "interrupt")
    if seen.speech_at is None:
        ctx.blocked(
            "the answer to prompts.long never sent audio_output, so there was nothing to "
            "interrupt (see EVI-TXT-002)"
        )
    ended = [e for e in seen.events if e.event == Server.ASSISTANT_END and e.at < seen.speech_at]
    if ended:
        ctx.blocked("the answer ended before the speech began: give prompts.long a longer answer")
    index = next(
        (
            i
            for i, e in enumerate(seen.events)
            if e.event == Server.USER_INTERRUPTION and e.at >= seen.speech_at
        ),
        None,
    )
    if index is None:
        ctx.fail(
            "speech over the assistant's audio got no user_interruption",
            expected="user_interruption while the assistant speaks",
            observed=shown(heads(seen.events)),
        )
    return seen, index, seen.speech_at


@INTERRUPTION.case(
    "EVI-INT-001",
    title="Speech interrupts the assistant",
    clause="Speech (audio_input) while the assistant's audio is being sent gets a "
    "user_interruption {time} at once (within timeouts.event).",
    level=Level.MUST,
)
async def interruption_sent(ctx: CaseContext) -> None:
    seen, index, speech_at = await _interrupted(ctx)
    late = seen.events[index].at - speech_at
    ctx.check(
        late <= ctx.timeouts.event,
        f"user_interruption came {late:.2f} s after the speech began",
        expected=f"within {ctx.timeouts.event.cited}",
        observed=f"{late:.2f} s",
    )


@INTERRUPTION.case(
    "EVI-INT-002",
    title="An interrupted answer stops",
    clause="After user_interruption no further audio_output of the interrupted answer's ids is "
    "sent.",
    level=Level.MUST,
)
async def audio_stops(ctx: CaseContext) -> None:
    seen, index, _ = await _interrupted(ctx)
    before = {str(fields(e.payload).get("id")) for e in seen.events[:index] if e.event in ANSWER}
    late = [
        e
        for e in seen.events[index + 1 :]
        if e.event == Server.AUDIO_OUTPUT and str(fields(e.payload).get("id")) in before
    ]
    ctx.check(
        not late,
        f"{len(late)} audio_output of the interrupted answer came after user_interruption",
        expected="no audio_output of the interrupted ids after user_interruption",
        observed=shown(heads(seen.events[index:])),
    )


@INTERRUPTION.case(
    "EVI-INT-003",
    title="The interrupting speech is a turn",
    clause="After the interruption the speech is handled as a turn: its final user_message, then "
    "an answer ending with assistant_end.",
    level=Level.MUST,
    source=seed("user_interruption", "user_message", "assistant_end"),
)
async def speech_is_a_turn(ctx: CaseContext) -> None:
    seen, _, _ = await _interrupted(ctx)
    if seen.answer is None:
        ctx.fail(
            "the interrupting speech got no final user_message",
            expected="a user_message (interim false), then the answer",
            observed=shown(heads(seen.events)),
        )
    answered(ctx, seen.answer, "the interrupting speech")


@INTERRUPTION.case(
    "EVI-INT-004",
    title="An interrupted answer gets no assistant_end",
    clause="The interrupted answer is not ended with assistant_end ([default]; open: a server may "
    "end it; informational).",
    level=Level.MAY,
    source=f"{READING_DEFAULT} interruption; {OPEN}",
)
async def interrupted_not_ended(ctx: CaseContext) -> None:
    seen, index, _ = await _interrupted(ctx)
    # The interrupted answer's messages end where the speech's turn begins: its transcript.
    until = seen.answer.sent_at if seen.answer is not None else float("inf")
    window = [e for e in seen.events[index:] if e.at < until]
    ctx.check(
        not [e for e in window if e.event == Server.ASSISTANT_END],
        "the interrupted answer got an assistant_end",
        expected="no assistant_end before the speech's turn",
        observed=shown(heads(window)),
    )
