"""The Empathic Voice Interface chat (EVI) as a plug-in of the suite."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from aiohttp import web

from conformance.protocols import ServeOption, conventional, with_defaults

__all__ = ["KILL_MATRIX", "PLUGIN", "SERVE_OPTIONS"]

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


# The flags of `conformance serve --protocol evi`. No default for the credentials: the
# reference's own are the ones its embedded.yaml carries (tests/unit pins the paths' defaults).
SERVE_OPTIONS = (
    ServeOption(flag="--path", default="/v0/evi/chat", help="the chat socket's path"),
    ServeOption(flag="--configs-path", default="/v0/evi/configs", help="the config API's path"),
    ServeOption(
        flag="--api-key",
        help="the API key it accepts (api_key query parameter or X-Hume-Api-Key header; "
        "default: the one of its embedded profile)",
    ),
    ServeOption(
        flag="--access-token",
        help="the access token it accepts (access_token query parameter; default: the one of "
        "its embedded profile)",
    ),
)

# The serve options the reference takes (reference_app's docstring).
_OPTIONS = ("variants", "pace", *(option.dest for option in SERVE_OPTIONS))


def _reference_app(faults: Sequence[str], options: Mapping[str, Any]) -> web.Application:
    from conformance.protocols.evi.reference.server import reference_app

    kept = {k: v for k, v in with_defaults(SERVE_OPTIONS, options).items() if k in _OPTIONS}
    return reference_app(faults, kept)


PLUGIN = conventional(
    __package__,
    name="evi",
    title="Empathic Voice Interface chat (WebSocket)",
    reference_app=_reference_app,
    kill_matrix=KILL_MATRIX,
    serve_options=SERVE_OPTIONS,
)
