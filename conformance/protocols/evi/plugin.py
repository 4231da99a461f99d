"""The Empathic Voice Interface chat (EVI) as a plug-in of the suite."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from aiohttp import web

from conformance.engine.context import Env
from conformance.engine.model import Case
from conformance.fuzz.findings import Finding
from conformance.load.model import LoadScript
from conformance.protocols import FaultInfo, ProtocolPlugin, VariantInfo, packaged

__all__ = ["KILL_MATRIX", "PLUGIN"]

# Which cases each fault of the reference server must make FAILED (NON-STRICT where the fault
# is a lenient acceptance or breaks a SHOULD) (tests/selftest).
KILL_MATRIX: dict[str, list[str]] = {
    "metadata-not-first": ["EVI-META-001"],
    "serves-without-auth": ["EVI-HS-002"],
    "query-settings-ignored": ["EVI-SET-002"],
    "audio-index-gap": ["EVI-OUT-002"],
    "audio-index-duplicate": ["EVI-OUT-002"],
    "audio-output-without-index": ["EVI-OUT-001", "EVI-MSG-001"],
    "corrupt-audio-output": ["EVI-OUT-003"],
    "assistant-end-early": ["EVI-ORD-002"],
    "no-assistant-end": ["EVI-ORD-003", "EVI-TXT-002"],
    "final-transcript-interim": ["EVI-AUD-001[*]"],
    "time-end-before-begin": ["EVI-TXT-004"],
    "user-input-not-from-text": ["EVI-TXT-001"],
    "assistant-input-not-from-text": ["EVI-AIN-001"],
    "responds-while-paused": ["EVI-PAUSE-001"],
    "silent-after-resume": ["EVI-PAUSE-003"],
    "tool-parameters-not-json": ["EVI-TOOL-002"],
    "tool-response-ignored": ["EVI-TOOL-003"],
    "unknown-tool-call-accepted": ["EVI-ERR-006"],
    "no-interruption": ["EVI-INT-001", "EVI-INT-002"],
    "inactivity-ignored": ["EVI-TIME-001"],
    "max-duration-ignored": ["EVI-TIME-003"],
    "resume-new-group": ["EVI-RES-001"],
    "error-without-slug": ["EVI-ERR-*"],
    "close-on-bad-message": ["EVI-ERR-*"],
    "silently-drop-bad-message": ["EVI-ERR-*"],
    "cross-chat-leak": ["EVI-ISO-001"],
}


def _catalogue() -> Sequence[Case]:
    from conformance.protocols.evi.cases import ordered

    return ordered()


def _faults() -> Mapping[str, FaultInfo]:
    from conformance.protocols.evi.reference.faults import FAULTS

    return FAULTS


def _variants() -> Mapping[str, VariantInfo]:
    from conformance.protocols.evi.reference.variants import VARIANTS

    return VARIANTS


# The serve options the reference takes (reference_app's docstring).
_OPTIONS = ("variants", "path", "api_key", "access_token", "configs_path", "pace")


def _reference_app(faults: Sequence[str], options: Mapping[str, Any]) -> web.Application:
    from conformance.protocols.evi.reference.server import reference_app

    kept = {k: v for k, v in options.items() if k in _OPTIONS}
    return reference_app(faults, kept)


def _fuzz_catalogue() -> Sequence[Case]:
    from conformance.protocols.evi.fuzzcases import FUZZ_CATALOGUE

    return list(FUZZ_CATALOGUE)


def _load_script() -> LoadScript:
    from conformance.protocols.evi.load import SCRIPT

    return SCRIPT


async def _replay(finding: Finding, env: Env) -> str | None:
    from conformance.protocols.evi.fuzzcases import replay

    return await replay(finding, env)


PLUGIN = ProtocolPlugin(
    name="evi",
    title="Empathic Voice Interface chat (WebSocket)",
    builtin_profile=lambda: packaged(__package__, "profile.yaml"),
    profile_schema=lambda: packaged(__package__, "profile.schema.json"),
    catalogue=_catalogue,
    faults=_faults,
    reference_app=_reference_app,
    variants=_variants,
    embedded_profile=lambda: packaged(__package__, "embedded.yaml"),
    kill_matrix=lambda: KILL_MATRIX,
    fuzz_catalogue=_fuzz_catalogue,
    replay=_replay,
    load_script=_load_script,
)
