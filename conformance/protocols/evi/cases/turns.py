"""A text turn (user_input), an assistant_input turn, and the order of a turn's messages."""

from __future__ import annotations

from conformance.engine.context import CaseContext
from conformance.engine.model import Level
from conformance.protocols.evi.cases.common import (
    CATALOGUE,
    OPEN,
    READING_DEFAULT,
    AssistantExchange,
    TextExchange,
    answered,
    heads,
    normalised,
    played,
    prompt,
    seed,
    shown,
)
from conformance.protocols.evi.client import Turn, fields
from conformance.protocols.evi.events import ANSWER, Server

ORDER = f"{READING_DEFAULT} order within a turn"


async def _text(ctx: CaseContext) -> Turn:
    text: TextExchange = await played(ctx, "text")
    return text.turn


async def answered_turns(ctx: CaseContext) -> list[tuple[str, Turn]]:
    """The answered turns the order and audio cases judge: user_input and assistant_input."""
    said = await played(ctx, "assistant-input")
    return [("the user_input turn", await _text(ctx)), ("the assistant_input turn", said.turn)]


# --- the text turn -------------------------------------------------------------------------------


TEXT_TURN = CATALOGUE.area("text turn", source=seed("user_input", "user_message"))


@TEXT_TURN.case(
    "EVI-TXT-001",
    title="user_input is transcribed as text",
    clause="A user_input gets a user_message {message: {role: user, content: the text}, "
    "from_text: true, interim: false}.",
    level=Level.MUST,
)
async def user_message_of_text(ctx: CaseContext) -> None:
    turn = await _text(ctx)
    messages = turn.payloads(Server.USER_MESSAGE)
    text = str(prompt(ctx, "text"))
    if not messages:
        ctx.fail(
            "the user_input got no user_message",
            expected="a user_message echoing the text",
            observed=shown(heads(turn.events)),
        )
    message = messages[0]
    said = fields(message.get("message"))
    ctx.check(
        said.get("role") == "user" and normalised(said.get("content", "")) == normalised(text),
        "the user_message does not carry the user's text as role user",
        expected=f"message: {{role: user, content: {text!r}}}",
        observed=shown(said),
    )
    ctx.check(
        message.get("from_text") is True,
        f"the user_message of a user_input has from_text {message.get('from_text')!r}",
        expected="from_text: true (inserted as text from a User Input message)",
        observed=shown(message),
    )
    ctx.check(
        message.get("interim") is False,
        f"the user_message of a user_input has interim {message.get('interim')!r}",
        expected="interim: false (a text is final)",
        observed=shown(message),
    )


@TEXT_TURN.case(
    "EVI-TXT-002",
    title="user_input is answered",
    clause="A user_input is answered by the assistant: assistant_message(s), their audio, then "
    "assistant_end.",
    level=Level.MUST,
    source=seed("user_input", "assistant_message", "assistant_end"),
)
async def text_answered(ctx: CaseContext) -> None:
    answered(ctx, await _text(ctx), "the user_input")


@TEXT_TURN.case(
    "EVI-TXT-003",
    title="The answer is the assistant's, not inserted text",
    clause="The assistant_messages answering a user_input have role assistant and from_text false.",
    level=Level.MUST,
    source=seed("assistant_message"),
)
async def assistant_message_of_answer(ctx: CaseContext) -> None:
    turn = answered(ctx, await _text(ctx), "the user_input")
    for message in turn.payloads(Server.ASSISTANT_MESSAGE):
        ctx.check(
            fields(message.get("message")).get("role") == "assistant"
            and message.get("from_text") is False,
            "an assistant_message of the answer is not role assistant with from_text false",
            expected="message.role: assistant, from_text: false",
            observed=shown(message),
        )


@TEXT_TURN.case(
    "EVI-TXT-004",
    title="user_message.time is an interval",
    clause="user_message.time is {begin, end} in milliseconds with begin <= end.",
    level=Level.MUST,
    source=seed("user_message", "MillisecondInterval"),
)
async def user_message_time(ctx: CaseContext) -> None:
    turn = await _text(ctx)
    messages = turn.payloads(Server.USER_MESSAGE)
    if not messages:
        ctx.blocked("the user_input got no user_message (see EVI-TXT-001)")
    for message in messages:
        time = fields(message.get("time"))
        begin, end = time.get("begin"), time.get("end")
        ctx.check(
            isinstance(begin, int) and isinstance(end, int) and 0 <= begin <= end,
            f"user_message.time is begin {begin!r}, end {end!r}",
            expected="integers with 0 <= begin <= end",
            observed=shown(time),
        )


# --- the order of a turn --------------------------------------------------------------------


TURN_ORDER = CATALOGUE.area("turn order", source=ORDER)


@TURN_ORDER.case(
    "EVI-ORD-001",
    title="The user's message comes before the answer",
    clause="A user_input's user_message precedes every assistant_message and audio_output "
    "that answers it.",
    level=Level.MUST,
)
async def user_first(ctx: CaseContext) -> None:
    turn = await _text(ctx)
    kinds = [e.event for e in turn.events]
    if Server.USER_MESSAGE not in kinds:
        ctx.blocked("the user_input got no user_message (see EVI-TXT-001)")
    first_answer = next((i for i, k in enumerate(kinds) if k in ANSWER), len(kinds))
    ctx.check(
        kinds.index(Server.USER_MESSAGE) < first_answer,
        "the assistant answered before the user_message",
        expected="user_message, then assistant_message ...",
        observed=" → ".join(kinds),
    )


@TURN_ORDER.case(
    "EVI-ORD-002",
    title="assistant_end is the last of a turn",
    clause="Nothing of a turn (assistant_message, audio_output) follows its assistant_end.",
    level=Level.MUST,
    source=f"{seed('assistant_end')}; {ORDER}",
)
async def end_is_last(ctx: CaseContext) -> None:
    turns = await answered_turns(ctx)
    if not any(turn.of(Server.ASSISTANT_END) for _, turn in turns):
        ctx.blocked("no turn got an assistant_end (see EVI-ORD-003)")
    for label, turn in turns:
        kinds = [e.event for e in turn.events]
        if Server.ASSISTANT_END not in kinds:
            continue  # EVI-ORD-003 judges a turn without its end
        after = kinds[kinds.index(Server.ASSISTANT_END) + 1 :]
        late = [k for k in after if k in ANSWER]
        ctx.check(
            not late,
            f"in {label}, {len(late)} messages of the turn came after its assistant_end",
            expected="assistant_end last",
            observed=" → ".join(kinds),
        )


@TURN_ORDER.case(
    "EVI-ORD-003",
    title="One assistant_end per turn",
    clause="An answered turn ends with exactly one assistant_end.",
    level=Level.MUST,
    source=seed("assistant_end"),
)
async def one_end(ctx: CaseContext) -> None:
    for label, turn in await answered_turns(ctx):
        ends = turn.of(Server.ASSISTANT_END)
        if not ends:
            answered(ctx, turn, label)
        ctx.check(
            len(ends) == 1,
            f"{label} got {len(ends)} assistant_end",
            expected="one assistant_end",
            observed=" → ".join(e.event for e in turn.events),
        )


@TURN_ORDER.case(
    "EVI-ORD-004",
    title="Audio follows the message it speaks",
    clause="Each audio_output follows the assistant_message whose id it carries ([default]: "
    "audio ids are the assistant_message ids; open, so informational).",
    level=Level.MAY,
    source=f"{READING_DEFAULT} audio_output.id; {OPEN}",
)
async def audio_after_message(ctx: CaseContext) -> None:
    turns = await answered_turns(ctx)
    if not any(turn.of(Server.AUDIO_OUTPUT) for _, turn in turns):
        ctx.blocked("no turn got audio_output (see EVI-OUT-001)")
    for label, turn in turns:
        seen: set[str] = set()
        for event in turn.events:
            payload = fields(event.payload)
            if event.event == Server.ASSISTANT_MESSAGE:
                seen.add(str(payload.get("id")))
            elif event.event == Server.AUDIO_OUTPUT:
                ctx.check(
                    str(payload.get("id")) in seen,
                    f"in {label}, audio_output {payload.get('id')!r} follows no "
                    "assistant_message of that id",
                    expected="audio_output.id = a preceding assistant_message's id",
                    observed=shown(heads(turn.events)),
                )


# --- assistant_input -------------------------------------------------------------------------


async def _said(ctx: CaseContext) -> Turn:
    said: AssistantExchange = await played(ctx, "assistant-input")
    return said.turn


ASSISTANT_INPUT = CATALOGUE.area(
    "assistant input", source=seed("assistant_input", "assistant_message")
)


@ASSISTANT_INPUT.case(
    "EVI-AIN-001",
    title="assistant_input is spoken as inserted text",
    clause="An assistant_input gets assistant_message(s) with from_text true.",
    level=Level.MUST,
)
async def inserted(ctx: CaseContext) -> None:
    turn = await _said(ctx)
    messages = turn.payloads(Server.ASSISTANT_MESSAGE)
    if not messages:
        answered(ctx, turn, "the assistant_input")
    for message in messages:
        ctx.check(
            message.get("from_text") is True,
            f"an assistant_message of an assistant_input has from_text "
            f"{message.get('from_text')!r}",
            expected="from_text: true (inserted as text from an Assistant Input message)",
            observed=shown(message),
        )


@ASSISTANT_INPUT.case(
    "EVI-AIN-002",
    title="assistant_input is spoken verbatim",
    clause="The assistant_messages of an assistant_input, joined, are its text.",
    level=Level.SHOULD,
    source=seed("assistant_input"),
)
async def verbatim(ctx: CaseContext) -> None:
    turn = answered(ctx, await _said(ctx), "the assistant_input")
    joined = " ".join(
        str(fields(m.get("message")).get("content", ""))
        for m in turn.payloads(Server.ASSISTANT_MESSAGE)
    )
    text = str(prompt(ctx, "assistant"))
    ctx.check(
        normalised(joined) == normalised(text),
        "the assistant did not say the assistant_input's text (whitespace collapsed)",
        expected=text,
        observed=joined,
    )


@ASSISTANT_INPUT.case(
    "EVI-AIN-003",
    title="assistant_input is voiced and ends its turn",
    clause="An assistant_input's text is synthesized into audio_output and its turn ends with "
    "assistant_end.",
    level=Level.MUST,
    source=seed("assistant_input", "audio_output", "assistant_end"),
)
async def voiced(ctx: CaseContext) -> None:
    turn = answered(ctx, await _said(ctx), "the assistant_input")
    ctx.check(
        bool(turn.of(Server.AUDIO_OUTPUT)),
        "the assistant_input was not voiced",
        expected="audio_output before assistant_end",
        observed=" → ".join(e.event for e in turn.events),
    )
