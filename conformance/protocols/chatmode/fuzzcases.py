"""The Chat Mode fuzz catalogue: what `conformance fuzz` runs, as cases of their own."""

from __future__ import annotations

from conformance.engine.catalogue import Catalogue
from conformance.engine.context import CaseContext, Env
from conformance.engine.model import Level
from conformance.fuzz import cases
from conformance.fuzz.findings import Finding
from conformance.protocols.chatmode import fuzz as strategies
from conformance.protocols.chatmode.client import ChatClient
from conformance.protocols.chatmode.machine import machine

__all__ = ["FUZZ_CATALOGUE", "replay"]

FUZZ_CATALOGUE = Catalogue(areas=("fuzz",))
INVALID = "PROTOCOLS.md §2 [default] an invalid message is answered with a system message"


@FUZZ_CATALOGUE.case(
    "CM-FUZZ-001",
    title="Valid chat messages are answered",
    clause="A schema-valid text message (any request, source, session and extra fields, for "
    "the profile's avatar, language and user), and a voice message of 16 kHz audio in each "
    "format the profile lists (with or without isPushToTalk and the session), get one schema-"
    "valid `incoming` answer, or a schema-valid `system` message refusing what the server does "
    "not support (no violation, noted); the socket stays open. Silence, a close or a malformed "
    "message is FAILED.",
    level=Level.MUST,
    area="fuzz",
    source="schemas/chatmode/messages/chat.text.schema.json, chat.voice.schema.json; "
    "PROTOCOLS.md §2 [doc] text and voice messages (seed 002)",
)
async def positive(ctx: CaseContext) -> None:
    formats = tuple(str(f) for f in ctx.profile.section("capabilities").get("voice_formats", []))
    await cases.fuzz_steps(
        ctx,
        strategies.positive_steps(formats),
        strategies.judge_step,
        "a valid message gets a schema-valid incoming answer (or a schema-valid system message "
        "refusing it); the socket stays usable",
    )


@FUZZ_CATALOGUE.case(
    "CM-FUZZ-002",
    title="Invalid messages get a system message, and nothing breaks",
    clause="Each invalid message (a required field missing, wrong types, chat_type and "
    "requestType that disagree, isLive true, oversized or deeply nested fields, JSON that is "
    "not an object, text that is not JSON, bad base64, bytes that are not audio, 8 kHz audio) "
    "gets a schema-valid `system` message; the socket stays open and answers a valid message; "
    "another user's socket hears nothing. An `incoming` answer (lenient acceptance) is at most "
    "NON-STRICT; silence, a close, a malformed message, an unusable socket or anything reaching "
    "another user is FAILED.",
    level=Level.MUST,
    area="fuzz",
    source=INVALID,
)
async def negative(ctx: CaseContext) -> None:
    env = Env(url=ctx.url, profile=ctx.profile, recorder=ctx.recorder, report_dir=ctx.report_dir)
    client = ChatClient(env)
    try:
        speech: bytes | None = client.speech("wav")
    except (KeyError, OSError):
        speech = None
    await cases.fuzz_steps(
        ctx,
        strategies.negative_steps(client.text(), speech),
        strategies.judge_step,
        "a schema-valid system message (acceptance: at most NON-STRICT); the socket stays usable",
        witness=strategies.witness,
    )


@FUZZ_CATALOGUE.case(
    "CM-FUZZ-003",
    title="The chat socket's invariants hold in any order of events",
    clause="In any sequence of text and voice turns, invalid messages, reconnects with a new "
    "token and a second user joining and leaving: every message gets exactly one answer, a "
    "valid one `incoming` (a well-formed `system` refusal is noted), an invalid one `system` "
    "(`incoming` is at most NON-STRICT); every message conforms; each fileUrl fetches; "
    "nothing reaches the other user.",
    level=Level.MUST,
    area="fuzz",
    source="PROTOCOLS.md §2 [doc, publisher's client] server messages; " + INVALID,
)
async def stateful(ctx: CaseContext) -> None:
    await cases.fuzz_machine(ctx, machine)


async def replay(finding: Finding, env: Env) -> str | None:
    """Rerun a Chat Mode finding; None when it is fixed."""
    return await cases.replay(finding, env, strategies.judge_step, machine)
