"""Voice turns: a voice message in each accepted format is answered, push-to-talk too."""

from __future__ import annotations

from conformance.engine.catalogue import Variant
from conformance.engine.context import CaseContext
from conformance.engine.model import Level
from conformance.protocols.chatmode.cases.common import CATALOGUE, SEED, answered, scenario
from conformance.protocols.chatmode.client import run_turn

AREA = CATALOGUE.area("voice turn", source=SEED)

VOICE = [
    Variant(label=fmt, params={"format": fmt}, requires={"voice_formats": fmt})
    for fmt in ("wav", "webm")
]


@AREA.case(
    "CM-VOI-001",
    title="A voice message is answered",
    clause="A voice message (16 kHz mono, base64) in an accepted format gets an incoming answer.",
    level=Level.MUST,
    variants=VOICE,
)
async def voice_answered(ctx: CaseContext) -> None:
    fmt = ctx.params["format"]
    answered(ctx, await scenario(ctx, f"voice-{fmt}", lambda env: run_turn(env, "voice", fmt)))


@AREA.case(
    "CM-VOI-002",
    title="Push-to-talk is accepted",
    clause="A voice message with isPushToTalk true is answered.",
    level=Level.MUST,
    requires={"push_to_talk": True},
)
async def push_to_talk(ctx: CaseContext) -> None:
    fmt = str(ctx.profile.section("audio").get("format"))
    plain = await scenario(ctx, f"voice-{fmt}", lambda env: run_turn(env, "voice", fmt))
    if plain.answer is None:
        # A server that answers no voice message tells nothing about push-to-talk, and a
        # second wait for an answer that does not come would only slow the run down.
        ctx.blocked(f"a voice message got no answer (CM-VOI-001[{fmt}])")
    answered(
        ctx,
        await scenario(ctx, "voice-ptt", lambda env: run_turn(env, "voice", isPushToTalk=True)),
    )
