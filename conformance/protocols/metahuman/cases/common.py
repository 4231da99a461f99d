"""What the MetaHuman cases share: the catalogue, clause sources, modes, and judging helpers."""

from __future__ import annotations

from conformance.engine.catalogue import Catalogue, Variant
from conformance.engine.context import CaseContext
from conformance.engine.judging import Validator, shown
from conformance.engine.transcript import WireEvent
from conformance.profiles import Profile, Timeout
from conformance.protocols.metahuman.client import Mode, Turn, run_turn
from conformance.transports.base import Mailbox

__all__ = [
    "CATALOGUE",
    "MODES",
    "SEED_EXAMPLES",
    "SEED_OPERATIONS",
    "TRANSPORT_DEFAULT",
    "TURN_ORDER",
    "arrived",
    "base_turn",
    "joined",
    "mode_variants",
    "offered",
    "shown",
    "turn",
    "valid",
]

# The order of the areas in listings and reports: a turn's order, then errors and isolation.
CATALOGUE = Catalogue(
    areas=(
        "handshake",
        "session",
        "input buffer",
        "transcription",
        "response text",
        "audio deltas",
        "timing",
        "errors",
        "isolation and security",
    )
)

SEED_OPERATIONS = "seed 000 (MetaHuman AI Chat 1.0.0, operations)"
SEED_EXAMPLES = "seed 001 (the page's example payloads)"
TRANSPORT_DEFAULT = "PROTOCOLS.md §1 Transport [default]"
TURN_ORDER = "PROTOCOLS.md §1 Operations, in turn order (the order is not stated as a rule)"

valid = Validator("metahuman")

MODES = [
    Mode(response_type=rt, is_base64=b64, is_ordered=ordered)
    for rt in ("single", "chain", "stream")
    for b64 in (True, False)
    for ordered in (True, False)
]


def mode_variants(modes: list[Mode] = MODES) -> list[Variant]:
    return [
        Variant(
            label=m.label,
            params={"mode": m},
            requires={
                "response_types": m.response_type,
                "is_base64": m.is_base64,
                "is_ordered": m.is_ordered,
            },
        )
        for m in modes
    ]


async def turn(ctx: CaseContext, mode: Mode) -> Turn:
    """The shared turn in `mode` (run once per run)."""
    return await ctx.scenario(f"turn[{mode.label}]", lambda env: run_turn(env, mode))


def offered(profile: Profile, mode: Mode) -> bool:
    """The profile's capabilities offer the TTS mode."""
    capabilities = profile.section("capabilities")
    return (
        mode.response_type in capabilities.get("response_types", [])
        and mode.is_base64 in capabilities.get("is_base64", [])
        and mode.is_ordered in capabilities.get("is_ordered", [])
    )


async def base_turn(ctx: CaseContext) -> Turn:
    """The turn in the first mode the profile offers."""
    for mode in MODES:
        if offered(ctx.profile, mode):
            return await turn(ctx, mode)
    ctx.unsupported("the profile's capabilities offer no TTS mode")


def joined(ctx: CaseContext, t: Turn) -> None:
    """FAILED when the turn's Receiver could not join with the id session.updated gave."""
    if t.receiver is None and t.receiver_refusal is not None:
        ctx.fail(
            f"the Receiver's join with sessionId {t.session_id!r} was refused, so it heard nothing",
            expected="the Receiver joins the session session.updated named",
            observed=f"CONNECT_ERROR {shown(t.receiver_refusal)}",
        )


def arrived(
    ctx: CaseContext,
    event: WireEvent | None,
    awaited: str,
    timeout: Timeout,
    peer: Mailbox | None = None,
) -> WireEvent:
    """The event, or FAILED naming what was awaited and for how long (or, given the socket it
    was awaited on, that the connection ended first)."""
    if event is None and peer is not None and peer.ended:
        ctx.fail(
            f"the server ended the {peer.name}'s connection before {awaited} came",
            expected=awaited,
            observed=f"the connection ended, no {awaited}",
        )
    if event is None:
        ctx.fail(
            f"awaited {awaited} within {timeout.cited}; nothing came",
            expected=awaited,
            observed=f"no {awaited} within {timeout:g} s",
        )
    return event
