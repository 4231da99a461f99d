"""The EVI fuzz catalogue: what `conformance fuzz --protocol evi` runs, as cases of their own."""

from __future__ import annotations

from conformance.engine.catalogue import Catalogue
from conformance.engine.context import CaseContext, Env
from conformance.engine.model import Level
from conformance.fuzz import cases
from conformance.fuzz.findings import Finding
from conformance.protocols.evi import fuzz as strategies
from conformance.protocols.evi.machine import machine

__all__ = ["FUZZ_CATALOGUE", "replay"]

FUZZ_CATALOGUE = Catalogue(areas=("fuzz",))
READING = "PROTOCOLS.md general readings (after bad input); asyncapi.yaml [default] errors"


@FUZZ_CATALOGUE.case(
    "EVI-FUZZ-001",
    title="Valid client messages are served",
    clause="A schema-valid session_settings, user_input or assistant_input (any text, extra "
    "fields, tools, audio settings), the fixture speech as audio_input (PCM declared by message "
    "or query at several rates, chunks of any size; slices of each container the profile "
    "lists), a tool round answered by a schema-valid tool_response or tool_error, and a "
    "user_input between schema-valid pause and resume messages, are served: chat_metadata "
    "first, each answer ends with assistant_end, audio_output indexes hold, nothing answers "
    "while paused and the resume is answered; or refused with a well-formed error (no "
    "violation, noted), the chat still serving. Silence, a close or a malformed message is "
    "FAILED.",
    level=Level.MUST,
    area="fuzz",
    source="schemas/evi/messages/*.schema.json (client messages); seed 003; PROTOCOLS.md §3",
)
async def positive(ctx: CaseContext) -> None:
    await cases.fuzz_steps(
        ctx,
        strategies.positive_steps(ctx.profile.section("capabilities")),
        strategies.judge_step,
        "a valid message is served (or refused with a well-formed error); the chat goes on",
    )


@FUZZ_CATALOGUE.case(
    "EVI-FUZZ-002",
    title="Invalid messages get an error, and nothing breaks",
    clause="Each invalid message (a required field missing, wrong types, values outside "
    "enumerations, an unknown or missing type, JSON that is not an object, text that is not "
    "JSON, huge and deeply nested values, audio_input that is not base64 or not audio, tool "
    "answers for no tool_call, tools whose parameters are not JSON) gets an error valid "
    "against error.schema.json; the socket stays open and serves a user_input; another chat "
    "hears nothing. Taking it (lenient parsing; for messages nothing answers, without a word) "
    "is at most NON-STRICT; silence, a close, a malformed message, a chat that no longer "
    "serves or anything reaching another chat is FAILED.",
    level=Level.MUST,
    area="fuzz",
    source=READING,
)
async def negative(ctx: CaseContext) -> None:
    probe = str(ctx.profile.section("prompts").get("probe") or "Are you still there?")
    await cases.fuzz_steps(
        ctx,
        strategies.negative_steps(probe),
        strategies.judge_step,
        "an error valid against error.schema.json (taking it: at most NON-STRICT); the chat "
        "goes on",
        witness=strategies.witness,
    )


@FUZZ_CATALOGUE.case(
    "EVI-FUZZ-003",
    title="The chat's invariants hold in any order of events",
    clause="In any sequence of text and audio turns, assistant inputs, tool rounds, pauses and "
    "resumes, interruptions and reconnects (resuming the chat group): chat_metadata comes "
    "first on every connection (a resumed one keeps its chat_group_id, with a new chat_id); "
    "every answered turn ends with assistant_end and nothing of it follows; audio_output "
    "indexes strictly increase per id; nothing answers while paused, one answer follows the "
    "resume; each tool_call is answered once its result is sent; speech over the assistant "
    "gets user_interruption and stops its audio; every message is well-formed.",
    level=Level.MUST,
    area="fuzz",
    source="seed 003; PROTOCOLS.md §3; the suite's [default] readings (schemas/evi/asyncapi.yaml)",
)
async def stateful(ctx: CaseContext) -> None:
    await cases.fuzz_machine(ctx, machine)


async def replay(finding: Finding, env: Env) -> str | None:
    """Rerun an EVI finding; None when it is fixed."""
    return await cases.replay(finding, env, strategies.judge_step, machine)
