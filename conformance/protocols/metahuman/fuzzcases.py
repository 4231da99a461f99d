"""The MetaHuman fuzz catalogue: what `conformance fuzz` runs, as cases of their own."""

from __future__ import annotations

from conformance.engine.catalogue import Catalogue
from conformance.engine.context import CaseContext, Env
from conformance.engine.model import Level
from conformance.fuzz import cases
from conformance.fuzz.findings import Finding
from conformance.protocols.metahuman import fuzz as strategies
from conformance.protocols.metahuman.machine import machine

__all__ = ["FUZZ_CATALOGUE", "replay"]

FUZZ_CATALOGUE = Catalogue(areas=("fuzz",))
DEFAULT = "PROTOCOLS.md §1 [default] custom.error catalogue"


@FUZZ_CATALOGUE.case(
    "MH-FUZZ-001",
    title="Valid client messages are answered, and nothing breaks",
    clause="A schema-valid session.update (any provider, model, voice, response type and flags) "
    "gets session.updated, or a schema-valid error event where the server does not support what "
    "it names (a refusal: no violation, noted); a valid chunk likewise; the connection stays "
    "and takes the profile's session.update afterwards. Silence, a dropped connection or a "
    "malformed answer is FAILED.",
    level=Level.MUST,
    area="fuzz",
    source="schemas/metahuman/messages/session.update.schema.json; seed 000 session.updated",
)
async def positive(ctx: CaseContext) -> None:
    await cases.fuzz_steps(
        ctx,
        strategies.positive_steps(),
        strategies.judge_step,
        "valid input is accepted, or refused with a schema-valid error; the connection stays "
        "usable",
    )


@FUZZ_CATALOGUE.case(
    "MH-FUZZ-002",
    title="Malformed input gets an error event, and nothing breaks",
    clause="Each malformed message (missing fields, wrong types, values outside enumerations, "
    "oversized or deeply nested payloads, bad base64, bytes that are not audio, empty chunks, "
    "no payload, unknown events) gets a schema-valid error event; the connection stays usable; "
    "a concurrent session is unaffected. Accepting malformed input the server can still serve "
    "(lenient parsing), or ignoring an unknown event, is at most NON-STRICT; silence, a dropped "
    "connection, a malformed answer, an unusable session or an effect on another session is "
    "FAILED.",
    level=Level.MUST,
    area="fuzz",
    source=DEFAULT,
)
async def negative(ctx: CaseContext) -> None:
    base = dict(ctx.profile.section("session_update"))
    oracle = (
        "a schema-valid error event (acceptance: at most NON-STRICT); the connection stays usable"
    )
    await cases.fuzz_steps(
        ctx,
        strategies.negative_steps(base),
        strategies.judge_step,
        oracle,
        witness=strategies.witness,
    )


@FUZZ_CATALOGUE.case(
    "MH-FUZZ-003",
    title="The protocol's invariants hold in any order of events",
    clause="In any sequence of updates, appends (any chunking), commits, Receiver joins and "
    "leaves and Sender reconnects: every update, early chunk and empty commit is answered "
    "(a refused update and a lenient acceptance break nothing), every commit gets one "
    "transcription or one error, every answer conforms to its schema, every delta stream "
    "completes, and nothing reaches another session.",
    level=Level.MUST,
    area="fuzz",
    source="PROTOCOLS.md §1 Operations and [default] readings",
)
async def stateful(ctx: CaseContext) -> None:
    await cases.fuzz_machine(ctx, machine)


async def replay(finding: Finding, env: Env) -> str | None:
    """Rerun a MetaHuman finding; None when it is fixed."""
    return await cases.replay(finding, env, strategies.judge_step, machine)
