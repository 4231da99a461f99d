"""MetaHuman AI Chat as a plug-in of the suite."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from aiohttp import web

from conformance import audio
from conformance.protocols import ServeOption, conventional, with_defaults

__all__ = ["KILL_MATRIX", "PLUGIN", "SERVE_OPTIONS"]

# Which cases each fault of the reference server must make FAILED (tests/selftest).
KILL_MATRIX: dict[str, list[str]] = {
    "delta-ids-from-one": ["MH-DELTA-002[*]"],
    "done-on-every-delta": ["MH-DELTA-004[chain-*]", "MH-DELTA-004[stream-*]"],
    "wrong-total-number": ["MH-DELTA-003[*]"],
    "duplicate-delta": ["MH-DELTA-002[*]"],
    "missing-delta": ["MH-DELTA-002[chain-*]", "MH-DELTA-002[stream-*]"],
    "unordered-deltas": ["MH-DELTA-011[chain-*]", "MH-DELTA-011[stream-*]"],
    "missing-stream-part-done": ["MH-DELTA-005[*]"],
    "delta-text-mismatch": ["MH-DELTA-006[*]"],
    "corrupt-audio": ["MH-DELTA-008[*]"],
    "truncated-audio": ["MH-DELTA-008[*]"],
    "format-switch": ["MH-DELTA-009[chain-*]", "MH-DELTA-009[stream-*]"],
    "is-base64-mismatch": ["MH-DELTA-007[*]"],
    "slow-first-audio": ["MH-TIME-001"],
    "updated-id-not-uuid": ["MH-SES-002"],
    "session-id-changes": ["MH-BUF-002"],
    "initialized-every-chunk": ["MH-BUF-003"],
    "no-initialized": ["MH-BUF-001"],
    "missing-language": ["MH-STT-002"],
    "no-error-on-empty-commit": ["MH-ERR-005"],
    "disconnect-on-bad-update": ["MH-ERR-001"],
    "error-without-error-id": ["MH-ERR-00[1-6]"],
    "disconnect-on-malformed-payload": ["MH-ERR-001"],
    "session-crash-on-invalid-base64": ["MH-ERR-003"],
    "silently-drop-bad-message": ["MH-ERR-00[1-6]"],
    "error-wrong-shape": ["MH-ERR-00[1-6]"],
    "text-to-sender-only": ["MH-TXT-001"],
    "leak-to-other-session": ["MH-ISO-001"],
    "accept-unknown-receiver": ["MH-HS-003"],
}


# The flags of `conformance serve --protocol metahuman`.
SERVE_OPTIONS = (
    ServeOption(flag="--path", default="socket.io", help="the Socket.IO path"),
    ServeOption(flag="--namespace", default="/", help="the Socket.IO namespace"),
    ServeOption(flag="--token", help="require this `token` in the handshake auth payload"),
    ServeOption(
        flag="--tts-format",
        default="mp3",
        choices=audio.FORMATS,
        help="the audio format of response.audio.delta",
    ),
)


def _reference_app(faults: Sequence[str], options: Mapping[str, Any]) -> web.Application:
    from conformance.protocols.metahuman.reference.faults import FAULTS, ActiveFaults
    from conformance.protocols.metahuman.reference.providers import OfflineTextToSpeech, Providers
    from conformance.protocols.metahuman.reference.server import ReferenceServer
    from conformance.protocols.metahuman.reference.variants import VARIANTS, ActiveVariants

    options = with_defaults(SERVE_OPTIONS, options)
    server = ReferenceServer(
        faults=ActiveFaults(FAULTS, faults),
        variants=ActiveVariants(VARIANTS, options.get("variants", ())),
        providers=Providers(tts=OfflineTextToSpeech(output_format=options["tts_format"])),
        token=options.get("token"),
        path=options["path"],
        namespace=options["namespace"],
        slow_first_audio_s=float(options.get("slow_first_audio_s", 8.0)),
    )
    return server.attach(web.Application())


PLUGIN = conventional(
    __package__,
    name="metahuman",
    title="MetaHuman AI Chat 1.0.0 (Socket.IO)",
    reference_app=_reference_app,
    kill_matrix=KILL_MATRIX,
    serve_options=SERVE_OPTIONS,
)
