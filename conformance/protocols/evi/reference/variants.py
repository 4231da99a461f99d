"""Legitimate variants of the reference EVI server (`conformance serve --variant NAME`).

Each reads an [open] point of PROTOCOLS.md §3 (as schemas/evi/asyncapi.yaml writes them) another
way than the reference's
[default]; every case must pass against it with the variant's profile (the variant matrix).
The server reads `variants.active(VARIANT)` at the one place each acts. The variant matrix
runs a variant with the built-in profile (which pins no credentials) plus the variant's
profile, so every profile below carries the reference's credentials.
"""

from __future__ import annotations

from types import MappingProxyType
from typing import Any, Final

from conformance.protocols.evi.reference.config import ACCESS_TOKEN, API_KEY
from conformance.protocols.evi.reference.errors import CATALOGUE, INTERNAL_ERROR, INVALID_CONFIG
from conformance.protocols.variants import ActiveVariants, ServerVariant, VariantRegistry

__all__ = ["OWN_CODES", "VARIANTS", "ActiveVariants", "ServerVariant"]

VARIANTS = VariantRegistry()

_AUTH: Final = MappingProxyType({"api_key": API_KEY, "access_token": ACCESS_TOKEN})
_AUDIO: Final = "PROTOCOLS.md §3 audio_output (schemas/evi/asyncapi.yaml, Audio out)"


def _profile(**sections: Any) -> dict[str, Any]:
    return {"auth": dict(_AUTH), **sections}


# The own-error-codes variant's catalogue: (code, slug) by the reference's slug. The profile's
# errors.codes keys are the reference's slugs, so its user pins these codes under them.
OWN_CODES: Final = MappingProxyType(
    {
        kind.slug: (f"EVI-{400 + n}", f"evi.{kind.slug.replace('_', '-')}")
        for n, kind in enumerate(CATALOGUE)
    }
)

# --- credentials ---------------------------------------------------------------------------------
ANY_KEY = VARIANTS.add(
    "any-key",
    "any non-empty api_key or access_token opens a chat (none is still refused), as a "
    "compatible server in development often does",
    open_point="PROTOCOLS.md §3 credentials: [open] whether a server verifies keys against "
    "anything",
    profile=_profile(),  # auth.verifies stays null: an unknown key taken is INFORMATIONAL
)

# --- audio_output ------------------------------------------------------------------------------
WHOLE_WAV_CHUNKS = VARIANTS.add(
    "whole-wav-chunks",
    "every audio_output is a whole WAV file of its own (about 100 ms), not a slice of one WAV "
    "per assistant message",
    open_point=f"{_AUDIO}: [open] a server may send each chunk as a whole WAV",
    profile=_profile(audio_output={"chunks": "whole"}),
)
TURN_WIDE_AUDIO_INDEX = VARIANTS.add(
    "turn-wide-audio-index",
    "audio_output.index counts across the whole turn, not from 0 for each id",
    open_point=f"{_AUDIO}: [open] index 0..n-1 within the id, or counted across the turn",
    profile=_profile(audio_output={"index": "per_turn"}),
)
UNRELATED_AUDIO_IDS = VARIANTS.add(
    "unrelated-audio-ids",
    "audio_output ids are fresh ids of their own, not the assistant_message's id",
    open_point=f"{_AUDIO}: [open] `id` = that assistant_message's id is the reference's reading",
    profile=_profile(),
)
PROSODY_MESSAGES = VARIANTS.add(
    "prosody-messages",
    "an `assistant_prosody` with all 48 scores follows each assistant_message",
    open_point="PROTOCOLS.md §3: assistant_prosody is in the newest SDK's union (hume 0.14.1), "
    "not the seed's; a server may send it",
    profile=_profile(),
)

# --- session settings, transcripts ---------------------------------------------------------------
ECHO_SESSION_SETTINGS = VARIANTS.add(
    "echo-session-settings",
    "each session_settings message is echoed back as received",
    open_point="schemas/evi/asyncapi.yaml session_settings: [open] a server may echo it "
    "(SessionSettings is in hume 0.14.1's SubscribeEvent union)",
    profile=_profile(),
)
NO_INTERIM = VARIANTS.add(
    "no-interim",
    "no interim user_message, even with verbose_transcription=true: only final transcripts",
    open_point="PROTOCOLS.md §3: verbose_transcription is the SDK's; a server without interim "
    "transcripts documents it (capabilities.verbose_transcription: false)",
    profile=_profile(capabilities={"verbose_transcription": False}),
)

# --- refusals and errors ---------------------------------------------------------------------
REFUSE_AFTER_UPGRADE = VARIANTS.add(
    "refuse-after-upgrade",
    "bad credentials: the upgrade is accepted, then `error` (unauthorized) and close 1008, "
    "instead of HTTP 401",
    open_point="PROTOCOLS.md §3 authentication (schemas/evi/asyncapi.yaml, the server) [open]: "
    "refusal on the upgrade (401) or after it (error + close 1008 or 4xxx)",
    profile=_profile(),
)
OWN_ERROR_CODES = VARIANTS.add(
    "own-error-codes",
    "every error carries the server's own code and slug (`EVI-4xx`, `evi.invalid-json` ...)",
    open_point="PROTOCOLS.md general readings: codes the seeds give no meaning are checked for "
    "shape only unless the profile pins them (the publisher's E0714/E0715 are examples)",
    # The profile pins every code a client can provoke (not the config body's or a bug's).
    profile=_profile(
        errors={
            "codes": {
                slug: code
                for slug, (code, _) in OWN_CODES.items()
                if slug not in (INTERNAL_ERROR.slug, INVALID_CONFIG.slug)
            }
        },
    ),
)
